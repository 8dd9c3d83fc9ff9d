import {
  bigint,
  customType,
  index,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from "drizzle-orm/pg-core";
import { registryRepositories } from "./repositories.js";

const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => "bytea",
  fromDriver: (value) => Buffer.from(value),
});

/** Manifests (image manifests and indexes), kept byte for byte: their digest is of these bytes. */
export const registryManifests = pgTable(
  "registry_manifests",
  {
    repository: text("repository")
      .notNull()
      .references(() => registryRepositories.name, { onDelete: "cascade" }),
    digest: text("digest").notNull(),
    mediaType: text("media_type").notNull(),
    /** The manifest's own size plus the blobs it names: what a pull downloads at most. */
    size: bigint("size", { mode: "number" }).notNull(),
    content: bytea("content").notNull(),
    /** The `subject` digest, for the referrers API. */
    subject: text("subject"),
    artifactType: text("artifact_type"),
    annotations: text("annotations"),
    pushedAt: timestamp("pushed_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.repository, table.digest] }),
    index("registry_manifests_subject_idx").on(table.repository, table.subject),
  ],
);

/**
 * What each manifest names: blobs (config, layers) and child manifests (of an index). Blobs
 * named here are never collected.
 */
export const registryManifestReferences = pgTable(
  "registry_manifest_references",
  {
    repository: text("repository").notNull(),
    manifest: text("manifest").notNull(),
    digest: text("digest").notNull(),
    kind: text("kind", { enum: ["blob", "manifest"] }).notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.repository, table.manifest, table.digest] }),
    index("registry_manifest_references_digest_idx").on(table.digest),
  ],
);
