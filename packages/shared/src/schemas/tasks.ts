import { z } from "zod";
import { nameSchema } from "../names.js";

/** ECS's lifecycle: provisioning -> pending -> running -> stopping -> stopped. */
export const taskStatuses = ["provisioning", "pending", "running", "stopping", "stopped"] as const;
export const taskStatusSchema = z.enum(taskStatuses);
export type TaskStatus = z.infer<typeof taskStatusSchema>;

export const stopCodes = [
  "TaskFailedToStart",
  "EssentialContainerExited",
  "UserInitiated",
  "ServiceSchedulerInitiated",
  "NodeLost",
] as const;
export const stopCodeSchema = z.enum(stopCodes);
export type StopCode = z.infer<typeof stopCodeSchema>;

export const launchTypeSchema = z.enum(["pool", "fargate"]);
export type LaunchType = z.infer<typeof launchTypeSchema>;

export const placementConstraintSchema = z.strictObject({
  attribute: z.string().max(63).optional(),
  type: z.enum(["equals", "notEquals", "in", "distinctHost"]),
  value: z.union([z.string().max(253), z.array(z.string().max(253)).max(64)]).optional(),
});
export type PlacementConstraint = z.infer<typeof placementConstraintSchema>;

export const placementSchema = z.strictObject({
  strategy: z.enum(["binpack", "spread"]).default("binpack"),
  /** For spread: the attribute to spread over; the node itself when absent. */
  spreadAttribute: z.string().max(63).optional(),
  constraints: z.array(placementConstraintSchema).max(10).default([]),
});
export type Placement = z.infer<typeof placementSchema>;

export const runTaskSchema = z.strictObject({
  taskDefinition: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9-_.]{0,62}(:[1-9][0-9]{0,8})?$/,
      "must be 'family' or 'family:revision'",
    ),
  launchType: launchTypeSchema.default("pool"),
  pool: nameSchema.optional(),
  count: z.number().int().min(1).max(10).default(1),
  placement: placementSchema.optional(),
});
export type RunTask = z.input<typeof runTaskSchema>;

export const containerStatusSchema = z.enum(["pending", "running", "stopped"]);

export const taskContainerSchema = z.object({
  name: z.string(),
  image: z.string(),
  status: containerStatusSchema,
  containerId: z.string().nullable(),
  exitCode: z.number().int().nullable(),
  reason: z.string().nullable(),
  health: z.enum(["unknown", "healthy", "unhealthy"]),
  /** containerPort -> host port, once running. */
  hostPorts: z.array(
    z.object({ containerPort: z.number(), hostPort: z.number(), protocol: z.string() }),
  ),
});
export type TaskContainer = z.infer<typeof taskContainerSchema>;

export const taskSchema = z.object({
  id: z.string(),
  family: z.string(),
  revision: z.number(),
  status: taskStatusSchema,
  desiredStatus: z.enum(["running", "stopped"]),
  launchType: launchTypeSchema,
  pool: z.string(),
  nodeId: z.string().nullable(),
  service: z.string().nullable(),
  cpu: z.number(),
  memory: z.number(),
  containers: z.array(taskContainerSchema),
  pendingReason: z.string().nullable(),
  stopCode: stopCodeSchema.nullable(),
  stoppedReason: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  stoppedAt: z.string().nullable(),
});
export type Task = z.infer<typeof taskSchema>;

export const listTasksQuerySchema = z.strictObject({
  service: nameSchema.optional(),
  status: taskStatusSchema.optional(),
  family: nameSchema.optional(),
  nodeId: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional(),
});
