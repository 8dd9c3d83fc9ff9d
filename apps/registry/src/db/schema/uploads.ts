import { bigint, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Upload sessions; their bytes sit in the store's upload area until they are committed. A
 * request that writes to or ends a session claims it first (`claim` until `claimedUntil`,
 * renewed while it streams), so one request at a time, on any replica, touches its bytes.
 */
export const registryUploads = pgTable("registry_uploads", {
  id: text("id").primaryKey(),
  repository: text("repository").notNull(),
  size: bigint("size", { mode: "number" }).notNull().default(0),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  claim: text("claim"),
  claimedUntil: timestamp("claimed_until", { withTimezone: true }),
});
