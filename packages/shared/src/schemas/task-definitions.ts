import { z } from "zod";
import { fargateSizeError, isValidFargateSize } from "../fargate.js";
import { nameSchema } from "../names.js";
import { parseCpu, parseMemory, UnitParseError } from "../units.js";
import { containerSecretSchema } from "./secrets.js";

/** Cpu as units (512) or text ("0.5 vCPU"); parsed to whole cpu units. */
export const cpuSchema = z.union([z.number(), z.string().max(32)]).transform((value, ctx) => {
  try {
    return parseCpu(value);
  } catch (error) {
    ctx.addIssue({
      code: "custom",
      message: error instanceof UnitParseError ? error.message : "bad cpu",
    });
    return z.NEVER;
  }
});

/** Memory as MiB (512) or text ("512MiB", "2 GiB"); parsed to whole MiB. */
export const memorySchema = z.union([z.number(), z.string().max(32)]).transform((value, ctx) => {
  try {
    return parseMemory(value);
  } catch (error) {
    ctx.addIssue({
      code: "custom",
      message: error instanceof UnitParseError ? error.message : "bad memory",
    });
    return z.NEVER;
  }
});

export const portMappingSchema = z.strictObject({
  containerPort: z.number().int().min(1).max(65535),
  /** Fixed host port; absent: the node picks an ephemeral one. Only for the pool launch type. */
  hostPort: z.number().int().min(1).max(65535).optional(),
  protocol: z.enum(["tcp", "udp"]).default("tcp"),
});
export type PortMapping = z.infer<typeof portMappingSchema>;

export const healthCheckSchema = z.strictObject({
  /** Run inside the container, e.g. ["CMD-SHELL", "wget -q -O- localhost:8080/health"]. */
  command: z.array(z.string().max(4096)).min(1).max(64),
  intervalSeconds: z.number().int().min(1).max(300).default(10),
  timeoutSeconds: z.number().int().min(1).max(120).default(5),
  retries: z.number().int().min(1).max(10).default(3),
  startPeriodSeconds: z.number().int().min(0).max(300).default(0),
});
export type HealthCheck = z.infer<typeof healthCheckSchema>;

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,255}$/, "must be a valid environment variable name");

export const containerDefinitionSchema = z.strictObject({
  name: nameSchema,
  image: z.string().min(1).max(512),
  command: z.array(z.string().max(4096)).max(256).optional(),
  entryPoint: z.array(z.string().max(4096)).max(256).optional(),
  env: z
    .record(envName, z.string().max(32_768))
    .refine((env) => Object.keys(env).length <= 256, "at most 256 variables")
    .optional(),
  /**
   * Environment variables whose values come from Skiff secrets: visible here by name only, and
   * delivered only to the agent that runs the task. `env` is shown to every reader: credentials
   * belong here.
   */
  secrets: z.array(containerSecretSchema).max(64).optional(),
  portMappings: z.array(portMappingSchema).max(32).optional(),
  healthCheck: healthCheckSchema.optional(),
  /** Reserved cpu units of this container; shares of the task's cpu when absent. */
  cpu: cpuSchema.optional(),
  /** Hard memory limit of this container in MiB; the task's limit when absent. */
  memory: memorySchema.optional(),
  /** When an essential container stops, the whole task stops. */
  essential: z.boolean().default(true),
  /** Mount the container's root filesystem read-only. */
  readonlyRootFilesystem: z.boolean().optional(),
  stopTimeoutSeconds: z.number().int().min(0).max(120).default(30),
});
export type ContainerDefinition = z.infer<typeof containerDefinitionSchema>;

export const compatibilitySchema = z.enum(["pool", "fargate"]);

export const registerTaskDefinitionSchema = z
  .strictObject({
    family: nameSchema,
    containers: z.array(containerDefinitionSchema).min(1).max(10),
    cpu: cpuSchema,
    memory: memorySchema,
    compatibilities: z.array(compatibilitySchema).min(1).max(2).default(["pool"]),
    /**
     * "auto": cpu and memory are needs, rounded up to the smallest valid fargate size covering
     * them (and the containers' own reservations). Without it a fargate-compatible definition
     * must name a valid size.
     */
    size: z.literal("auto").optional(),
  })
  .superRefine((definition, ctx) => {
    const names = definition.containers.map((container) => container.name);
    for (const [index, name] of names.entries()) {
      if (names.indexOf(name) !== index) {
        ctx.addIssue({
          code: "custom",
          path: ["containers", index, "name"],
          message: `duplicate container name "${name}"`,
        });
      }
    }
    for (const [index, container] of definition.containers.entries()) {
      const seen = new Set<string>();
      for (const [at, secret] of (container.secrets ?? []).entries()) {
        const clash = seen.has(secret.name)
          ? "is named twice in secrets"
          : container.env && Object.hasOwn(container.env, secret.name)
            ? "is also set in env"
            : undefined;
        seen.add(secret.name);
        if (clash) {
          ctx.addIssue({
            code: "custom",
            path: ["containers", index, "secrets", at, "name"],
            message: `${secret.name} ${clash}`,
          });
        }
      }
    }
    if (!definition.containers.some((container) => container.essential)) {
      ctx.addIssue({
        code: "custom",
        path: ["containers"],
        message: "at least one container must be essential",
      });
    }
    const reserved = definition.containers.reduce(
      (sum, container) => sum + (container.cpu ?? 0),
      0,
    );
    if (reserved > definition.cpu && !definition.size) {
      ctx.addIssue({
        code: "custom",
        path: ["cpu"],
        message: `containers reserve ${reserved} cpu units, more than the task's ${definition.cpu}`,
      });
    }
    if (definition.compatibilities.includes("fargate")) {
      const size = { cpu: definition.cpu, memory: definition.memory };
      if (!definition.size && !isValidFargateSize(size))
        ctx.addIssue({ code: "custom", path: ["memory"], message: fargateSizeError(size) });
      for (const [index, container] of definition.containers.entries()) {
        for (const [at, mapping] of (container.portMappings ?? []).entries()) {
          if (mapping.hostPort === undefined) continue;
          ctx.addIssue({
            code: "custom",
            path: ["containers", index, "portMappings", at, "hostPort"],
            message:
              "fargate tasks cannot take host ports: their ports are reached through the load balancer",
          });
        }
      }
    }
    // With size "auto" the limits are checked against the rounded-up size, at registration.
    for (const [index, container] of definition.containers.entries()) {
      if (!definition.size && (container.memory ?? 0) > definition.memory) {
        ctx.addIssue({
          code: "custom",
          path: ["containers", index, "memory"],
          message: `more than the task's ${definition.memory} MiB`,
        });
      }
    }
  });
export type RegisterTaskDefinition = z.input<typeof registerTaskDefinitionSchema>;

export const taskDefinitionSchema = z.object({
  family: z.string(),
  revision: z.number().int(),
  containers: z.array(containerDefinitionSchema),
  cpu: z.number().int(),
  memory: z.number().int(),
  compatibilities: z.array(compatibilitySchema),
  createdAt: z.string(),
});
export type TaskDefinition = z.infer<typeof taskDefinitionSchema>;

/** GET /v1/task-definitions: one row per family. */
export const taskDefinitionFamilySchema = z.object({
  family: z.string(),
  latestRevision: z.number(),
});
export type TaskDefinitionFamily = z.infer<typeof taskDefinitionFamilySchema>;
