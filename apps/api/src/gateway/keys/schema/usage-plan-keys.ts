import { index, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { apiKeys } from "./api-keys.js";
import { usagePlans } from "./usage-plans.js";

/** Keys attached to plans; a key sits in at most one plan per API (checked on attach). */
export const usagePlanKeys = pgTable(
  "usage_plan_keys",
  {
    planId: text("plan_id")
      .notNull()
      .references(() => usagePlans.id, { onDelete: "cascade" }),
    keyId: text("key_id")
      .notNull()
      .references(() => apiKeys.id, { onDelete: "cascade" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.planId, table.keyId] }), index().on(table.keyId)],
);
