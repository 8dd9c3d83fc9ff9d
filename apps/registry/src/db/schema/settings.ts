import { pgTable, text } from "drizzle-orm/pg-core";

/** Registry-wide values shared by every replica, such as the token signing secret. */
export const registrySettings = pgTable("registry_settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});
