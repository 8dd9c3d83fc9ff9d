import type { DeploymentConfig, Placement } from "@skiff/shared";
import { index, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/** Long-running services: the service scheduler keeps `desiredCount` tasks of the primary deployment. */
export const services = pgTable("services", {
  name: text("name").primaryKey(),
  status: text("status", { enum: ["active", "draining"] }).notNull(),
  desiredCount: integer("desired_count").notNull(),
  launchType: text("launch_type", { enum: ["pool", "fargate"] }).notNull(),
  pool: text("pool").notNull(),
  deploymentConfig: jsonb("deployment_config").$type<DeploymentConfig>().notNull(),
  placement: jsonb("placement").$type<Placement>().notNull(),
  loadBalancer: jsonb("load_balancer").$type<{ containerName: string; containerPort: number }>(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/** One revision being rolled out (primary), still running (active), or done with (inactive). */
export const serviceDeployments = pgTable(
  "service_deployments",
  {
    id: text("id").primaryKey(),
    service: text("service")
      .notNull()
      .references(() => services.name, { onDelete: "cascade" }),
    family: text("family").notNull(),
    revision: integer("revision").notNull(),
    status: text("status", { enum: ["primary", "active", "inactive"] }).notNull(),
    rolloutState: text("rollout_state", { enum: ["in_progress", "completed", "failed"] }).notNull(),
    rolloutReason: text("rollout_reason"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index("service_deployments_service_idx").on(table.service)],
);

export const serviceEvents = pgTable(
  "service_events",
  {
    id: text("id").primaryKey(),
    service: text("service")
      .notNull()
      .references(() => services.name, { onDelete: "cascade" }),
    message: text("message").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index("service_events_service_idx").on(table.service, table.id)],
);
