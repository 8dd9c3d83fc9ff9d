import { bigint, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/** Upload sessions; their bytes sit in the store's upload area until they are committed. */
export const registryUploads = pgTable("registry_uploads", {
  id: text("id").primaryKey(),
  repository: text("repository").notNull(),
  size: bigint("size", { mode: "number" }).notNull().default(0),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});
