import { bigint, boolean, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/** A repository exists from its first blob or manifest push; it holds its own settings. */
export const registryRepositories = pgTable("registry_repositories", {
  name: text("name").primaryKey(),
  immutableTags: boolean("immutable_tags").notNull().default(false),
  anonymousPull: boolean("anonymous_pull").notNull().default(false),
  /** Lifecycle: keep only the newest N tags. */
  keepLastTags: integer("keep_last_tags"),
  /** Lifecycle: delete manifests that carry no tag after this many days. */
  expireUntaggedAfterDays: integer("expire_untagged_after_days"),
  /** Bytes of blobs the repository may hold (uploads beyond it are refused); null: no quota. */
  storageQuotaBytes: bigint("storage_quota_bytes", { mode: "number" }),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  lastPushedAt: timestamp("last_pushed_at", { withTimezone: true }),
});
