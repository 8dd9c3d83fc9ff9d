import { z } from "zod";
import { nameSchema } from "../names.js";
import { launchTypeSchema, placementSchema } from "./tasks.js";

export const deploymentConfigSchema = z
  .strictObject({
    /** Tasks that must stay healthy during a deployment, as a percent of desiredCount. */
    minimumHealthyPercent: z.number().int().min(0).max(100).default(100),
    /** Tasks that may run during a deployment, as a percent of desiredCount. */
    maximumPercent: z.number().int().min(100).max(400).default(200),
    circuitBreaker: z
      .strictObject({ enable: z.boolean().default(true), rollback: z.boolean().default(true) })
      .default({ enable: true, rollback: true }),
  })
  .refine((config) => config.maximumPercent > config.minimumHealthyPercent, {
    message:
      "maximumPercent must be above minimumHealthyPercent, or no deployment could make progress",
    path: ["maximumPercent"],
  });
export type DeploymentConfig = z.infer<typeof deploymentConfigSchema>;

export const loadBalancerSchema = z.strictObject({
  containerName: nameSchema,
  containerPort: z.number().int().min(1).max(65535),
});

export const createServiceSchema = z.strictObject({
  name: nameSchema,
  taskDefinition: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9-_.]{0,62}(:[1-9][0-9]{0,8})?$/,
      "must be 'family' or 'family:revision'",
    ),
  desiredCount: z.number().int().min(0).max(1000),
  launchType: launchTypeSchema.default("pool"),
  pool: nameSchema.optional(),
  deployment: deploymentConfigSchema.optional(),
  placement: placementSchema.optional(),
  loadBalancer: loadBalancerSchema.optional(),
});
export type CreateService = z.input<typeof createServiceSchema>;

export const updateServiceSchema = z
  .strictObject({
    desiredCount: z.number().int().min(0).max(1000).optional(),
    taskDefinition: createServiceSchema.shape.taskDefinition.optional(),
  })
  .refine(
    (patch) => patch.desiredCount !== undefined || patch.taskDefinition !== undefined,
    "nothing to change",
  );
export type UpdateService = z.input<typeof updateServiceSchema>;

export const deploymentSchema = z.object({
  id: z.string(),
  taskDefinition: z.string(),
  status: z.enum(["primary", "active", "inactive"]),
  rolloutState: z.enum(["in_progress", "completed", "failed"]),
  rolloutReason: z.string().nullable(),
  runningCount: z.number(),
  pendingCount: z.number(),
  failedTasks: z.number(),
  createdAt: z.string(),
});
export type Deployment = z.infer<typeof deploymentSchema>;

export const serviceEventSchema = z.object({
  id: z.string(),
  message: z.string(),
  createdAt: z.string(),
});

export const serviceSchema = z.object({
  name: z.string(),
  status: z.enum(["active", "draining"]),
  taskDefinition: z.string(),
  desiredCount: z.number(),
  runningCount: z.number(),
  pendingCount: z.number(),
  launchType: launchTypeSchema,
  pool: z.string(),
  deployment: z.object({
    minimumHealthyPercent: z.number(),
    maximumPercent: z.number(),
    circuitBreaker: z.object({ enable: z.boolean(), rollback: z.boolean() }),
  }),
  placement: placementSchema,
  loadBalancer: loadBalancerSchema.nullable(),
  deployments: z.array(deploymentSchema),
  events: z.array(serviceEventSchema),
  createdAt: z.string(),
});
export type Service = z.infer<typeof serviceSchema>;
