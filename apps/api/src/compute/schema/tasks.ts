import type { Placement, StopCode, TaskContainer } from "@skiff/shared";
import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

export const tasks = pgTable(
  "tasks",
  {
    id: text("id").primaryKey(),
    family: text("family").notNull(),
    revision: integer("revision").notNull(),
    status: text("status", {
      enum: ["provisioning", "pending", "running", "stopping", "stopped"],
    }).notNull(),
    desiredStatus: text("desired_status", { enum: ["running", "stopped"] }).notNull(),
    launchType: text("launch_type", { enum: ["pool", "fargate"] }).notNull(),
    pool: text("pool").notNull(),
    nodeId: text("node_id"),
    service: text("service"),
    cpu: integer("cpu").notNull(),
    memory: integer("memory").notNull(),
    /** Fixed host ports this task holds on its node, so no other task is placed on them. */
    hostPorts: integer("host_ports").array().notNull(),
    placement: jsonb("placement").$type<Placement>().notNull(),
    containers: jsonb("containers").$type<TaskContainer[]>().notNull(),
    pendingReason: text("pending_reason"),
    stopCode: text("stop_code").$type<StopCode>(),
    stoppedReason: text("stopped_reason"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp("started_at", { withTimezone: true }),
    stoppedAt: timestamp("stopped_at", { withTimezone: true }),
    /**
     * Until then the node keeps the task running although it is stopping: the load balancer has
     * dropped it and its requests in flight finish (connection draining).
     */
    drainUntil: timestamp("drain_until", { withTimezone: true }),
  },
  (table) => [
    index("tasks_node_status_idx").on(table.nodeId, table.status),
    index("tasks_status_idx").on(table.status),
    index("tasks_service_idx").on(table.service),
    // Counts by status of a service's tasks, without reading its stopped history.
    index("tasks_service_status_idx").on(table.service, table.status),
    // The retention loop finds the oldest stopped tasks.
    index("tasks_stopped_at_idx").on(table.stoppedAt).where(sql`${table.status} = 'stopped'`),
  ],
);
