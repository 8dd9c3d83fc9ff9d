import { index, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/** Named groups of nodes, like ECS clusters of EC2 instances. */
export const pools = pgTable("pools", {
  name: text("name").primaryKey(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Tokens agents join a pool with; hashed like API tokens, valid until they expire, are revoked or
 * have admitted `max_uses` nodes (null: any number, for autoscaling groups).
 */
export const poolJoinTokens = pgTable(
  "pool_join_tokens",
  {
    id: text("id").primaryKey(),
    pool: text("pool")
      .notNull()
      .references(() => pools.name, { onDelete: "cascade" }),
    tokenHash: text("token_hash").notNull().unique(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    maxUses: integer("max_uses"),
    uses: integer("uses").notNull().default(0),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    /** The secret's first characters, to tell tokens apart in a list (null for older tokens). */
    prefix: text("prefix"),
  },
  (table) => [index("pool_join_tokens_pool_idx").on(table.pool)],
);
