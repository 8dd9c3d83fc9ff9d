import { bigint, index, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { registryRepositories } from "./repositories.js";

/**
 * Blobs in the content-addressed store, once per digest. `touchedAt` moves forward whenever a
 * push uses the blob (upload, mount, HEAD before a push, a manifest naming it): the collector
 * only takes blobs untouched for a grace period, and the update's row lock orders it against
 * the collector.
 */
export const registryBlobs = pgTable(
  "registry_blobs",
  {
    digest: text("digest").primaryKey(),
    size: bigint("size", { mode: "number" }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    touchedAt: timestamp("touched_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index("registry_blobs_touched_at_idx").on(table.touchedAt)],
);

/** Which repositories may serve a blob: a blob is only visible through a repository it was pushed or mounted to. */
export const registryBlobLinks = pgTable(
  "registry_blob_links",
  {
    repository: text("repository")
      .notNull()
      .references(() => registryRepositories.name, { onDelete: "cascade" }),
    digest: text("digest")
      .notNull()
      .references(() => registryBlobs.digest, { onDelete: "cascade" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.repository, table.digest] }),
    index("registry_blob_links_digest_idx").on(table.digest),
  ],
);
