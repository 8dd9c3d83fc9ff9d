import { index, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/** Named groups of nodes, like ECS clusters of EC2 instances. */
export const pools = pgTable("pools", {
  name: text("name").primaryKey(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/** Tokens agents join a pool with; hashed like API tokens, valid until they expire. */
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
  },
  (table) => [index("pool_join_tokens_pool_idx").on(table.pool)],
);
