import { sql } from "drizzle-orm";
import { boolean, check, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * This install's identity: one row, made at the first registration. Agents label every container
 * with it (`skiff.cluster`), so an agent cleaning up after lost nodes never touches the
 * containers of another install sharing its Docker engine.
 */
export const cluster = pgTable(
  "cluster",
  {
    /** Always true: the primary key allows one row only. */
    singleton: boolean("singleton").primaryKey().default(true),
    id: text("id").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [check("cluster_singleton", sql`${table.singleton}`)],
);
