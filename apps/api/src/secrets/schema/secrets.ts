import { integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Secrets for task containers. The value is only ever stored encrypted (AES-256-GCM under the
 * api's secrets key, kept outside the database); `key_id` names that key so a replica holding
 * another key says so instead of failing to decrypt.
 */
export const secrets = pgTable("secrets", {
  name: text("name").primaryKey(),
  description: text("description"),
  /** 1 at creation, one more with each new value. */
  version: integer("version").notNull(),
  /** `v1.<iv>.<tag>.<ciphertext>`, base64url (secrets/services/secret-crypto.ts). */
  ciphertext: text("ciphertext").notNull(),
  keyId: text("key_id").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});
