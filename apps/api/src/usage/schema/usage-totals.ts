import { doublePrecision, pgTable, primaryKey, text } from "drizzle-orm/pg-core";

/**
 * Metered seconds since the beginning of the tasks removed from `tasks`, per usage key (service,
 * or `standalone/<family>`) and launch type: /v1/metrics adds the tasks still kept to these
 * instead of scanning the whole history on every scrape.
 */
export const usageTotals = pgTable(
  "usage_totals",
  {
    key: text("key").notNull(),
    launchType: text("launch_type", { enum: ["pool", "fargate"] }).notNull(),
    vcpuSeconds: doublePrecision("vcpu_seconds").notNull(),
    gbSeconds: doublePrecision("gb_seconds").notNull(),
  },
  (table) => [primaryKey({ columns: [table.key, table.launchType] })],
);
