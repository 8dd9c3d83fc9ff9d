import { boolean, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * API keys of the gateway's APIs (`x-api-key`). The value is stored only as its SHA-256 (it is
 * random or at least 20 characters), so the database never holds a usable key.
 */
export const apiKeys = pgTable("api_keys", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  enabled: boolean("enabled").notNull().default(true),
  keyHash: text("key_hash").notNull().unique(),
  /** The value's first characters, to tell keys apart in a list. */
  prefix: text("prefix").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});
