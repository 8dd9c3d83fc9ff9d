import { index, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * The metered run of a task whose row was removed from `tasks` after the retention window: what
 * usage needs of it (who, what size, when), so metering over any window stays exact.
 */
export const taskUsage = pgTable(
  "task_usage",
  {
    taskId: text("task_id").primaryKey(),
    service: text("service"),
    family: text("family").notNull(),
    launchType: text("launch_type", { enum: ["pool", "fargate"] }).notNull(),
    cpu: integer("cpu").notNull(),
    memory: integer("memory").notNull(),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull(),
    stoppedAt: timestamp("stopped_at", { withTimezone: true }).notNull(),
  },
  (table) => [
    index("task_usage_started_at_idx").on(table.startedAt),
    index("task_usage_stopped_at_idx").on(table.stoppedAt),
  ],
);
