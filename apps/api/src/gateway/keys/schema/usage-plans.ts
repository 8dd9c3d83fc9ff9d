import { integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Usage plans: which APIs their keys may call, with a throttle and a quota per key. APIs are
 * named by id without a foreign key (the apis table lives in the gateway's apis domain).
 */
export const usagePlans = pgTable("usage_plans", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  description: text("description"),
  apiIds: text("api_ids").array().notNull(),
  throttle: jsonb("throttle").$type<{ rateLimit: number; burstLimit: number }>(),
  quotaLimit: integer("quota_limit"),
  quotaPeriod: text("quota_period").$type<"DAY" | "WEEK" | "MONTH">(),
  quotaOffset: integer("quota_offset").notNull().default(0),
  /** When the quota was last set: its offset applies to the period holding this instant. */
  quotaSetAt: timestamp("quota_set_at", { withTimezone: true }),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});
