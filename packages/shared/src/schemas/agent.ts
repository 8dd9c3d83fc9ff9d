import { z } from "zod";
import { nodeAddressKind, refusedNodeAddressKinds } from "../node-address.js";
import { logLineSchema } from "./logs.js";
import { attributesSchema } from "./nodes.js";
import { taskUsageSchema, usageSampleSchema } from "./stats.js";
import { containerDefinitionSchema } from "./task-definitions.js";
import { launchTypeSchema, stopCodeSchema, taskContainerSchema } from "./tasks.js";

/**
 * A host name or an IP address, nothing else (no scheme, user info, port, path or query), and
 * never one the gateway must not be sent to: an invalid IPv4 literal, link-local (cloud metadata),
 * unspecified or multicast. Loopback passes here; registration admits it only from loopback.
 */
export const nodeAddressSchema = z
  .union([z.ipv6(), z.hostname().max(253)], {
    error: "must be a host name or an IP address, without scheme, port or path",
  })
  .superRefine((address, ctx) => {
    const kind = nodeAddressKind(address);
    if (!refusedNodeAddressKinds.has(kind)) return;
    ctx.addIssue({
      code: "custom",
      message:
        kind === "invalid-ipv4"
          ? "must be a valid IPv4 address (four decimal octets 0-255) or a host name"
          : `must not be a ${kind} address: the gateway sends traffic to it`,
    });
  });

// The agent <-> control plane protocol (DESIGN.md, "Agent <-> control plane"). Agents speak HTTP
// to the api only. Every call but register carries `Authorization: Bearer <node credential>`.

/** POST /v1/agent/register */
export const registerNodeSchema = z.strictObject({
  joinToken: z.string().min(1).max(512),
  name: z.string().min(1).max(253),
  capacity: z.strictObject({
    cpu: z
      .number()
      .int()
      .min(1)
      .max(1024 * 1024),
    memory: z
      .number()
      .int()
      .min(1)
      .max(64 * 1024 * 1024),
  }),
  attributes: attributesSchema.default({}),
  /**
   * Where other hosts reach this node's published ports; the request's source address when absent.
   * Only a host name or an IP: the gateway builds its target URLs from it, so a scheme, port, path
   * or user info here would let a node point the gateway at any URL.
   */
  address: nodeAddressSchema.optional(),
  /** The agent's control port for function instances (schemas/function-instances.ts). */
  controlPort: z.number().int().min(1).max(65535).optional(),
});
export type RegisterNode = z.input<typeof registerNodeSchema>;

export const registeredNodeSchema = z.object({
  nodeId: z.string(),
  pool: z.string(),
  /** Shown once; the agent keeps it in its state file and sends it as a bearer token. */
  credential: z.string(),
  heartbeatIntervalSeconds: z.number(),
  /**
   * This Skiff install's id. The agent labels its containers with it (`skiff.cluster`) and only
   * ever cleans up after other nodes' containers carrying the same id. Absent from older apis.
   */
  clusterId: z.string().optional(),
});
export type RegisteredNode = z.infer<typeof registeredNodeSchema>;

/** POST /v1/agent/nodes/:id/gone-nodes: which of these node ids no longer run anything. */
export const goneNodesQuerySchema = z.strictObject({
  nodeIds: z.array(z.string().min(1).max(64)).max(1000),
});
export type GoneNodesQuery = z.infer<typeof goneNodesQuerySchema>;

/** The asked ids that are not registered, or are down (their tasks were stopped as lost). */
export const goneNodesSchema = z.object({ nodeIds: z.array(z.string()) });
export type GoneNodes = z.infer<typeof goneNodesSchema>;

/** A container to run; a port mapping without hostPort gets an ephemeral host port. */
export const assignedContainerSchema = containerDefinitionSchema;

/** One task the node should run (desiredStatus running) or stop (stopped). */
export const assignmentSchema = z.object({
  taskId: z.string(),
  desiredStatus: z.enum(["running", "stopped"]),
  family: z.string(),
  revision: z.number(),
  service: z.string().nullable(),
  launchType: launchTypeSchema,
  cpu: z.number(),
  memory: z.number(),
  containers: z.array(assignedContainerSchema),
  /**
   * The values of the secrets this task's containers name in `secrets[].valueFrom`, by secret
   * name. Sent only to the node the task runs on; the agent puts them in the containers' env.
   */
  secrets: z.record(z.string(), z.string()).optional(),
});
export type Assignment = z.infer<typeof assignmentSchema>;

/** GET /v1/agent/nodes/:id/assignments?index=N&wait=30s: answers at once when index moved past N. */
export const assignmentsQuerySchema = z.strictObject({
  index: z.coerce.number().int().min(0).default(0),
  wait: z
    .string()
    .regex(/^\d{1,3}s$/, "must be seconds, e.g. 30s")
    .default("30s")
    .transform((text) => Math.min(Number(text.slice(0, -1)), 60)),
});

export const assignmentsSchema = z.object({
  /** Pass back as `index` to wait for the next change. */
  index: z.number(),
  nodeState: z.enum(["active", "draining", "down"]),
  assignments: z.array(assignmentSchema),
  /**
   * Skiff's registry as the api advertises it (`GET /v1/registry`): the agent pulls its images
   * with the node's credential, as it does those of its own SKIFF_REGISTRY_ADDRESS.
   */
  registryAddress: z.string().optional(),
});
export type Assignments = z.infer<typeof assignmentsSchema>;

/** POST /v1/agent/nodes/:id/tasks/:taskId/status: a transition the agent saw. */
export const taskReportSchema = z.strictObject({
  status: z.enum(["pending", "running", "stopped"]),
  containers: z.array(taskContainerSchema).max(10),
  stopCode: stopCodeSchema.optional(),
  reason: z.string().max(1024).optional(),
});
export type TaskReport = z.infer<typeof taskReportSchema>;

/** POST /v1/agent/nodes/:id/heartbeat */
export const heartbeatSchema = z.strictObject({
  /** The tasks the node has containers for, whatever their state. */
  taskIds: z.array(z.string().max(64)).max(1000),
  /** The host's use of cpu and memory since the last heartbeat. */
  usage: usageSampleSchema.optional(),
  /** Each running task's use, its containers added up. */
  tasks: z.array(taskUsageSchema).max(1000).optional(),
  /** The agent's control port, again: it may change when the agent restarts. */
  controlPort: z.number().int().min(1).max(65535).optional(),
  /** The function instances the node runs (the api forgets others it routed to). */
  functionInstanceIds: z.array(z.string().max(64)).max(10000).optional(),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

export const heartbeatAnswerSchema = z.object({
  nodeState: z.enum(["active", "draining", "down"]),
});

/**
 * POST /v1/agent/nodes/:id/function-logs: a batch of one function's lines, oldest first: its
 * instances' output and the START, END and REPORT lines the agent writes around invocations.
 * `container` holds the instance id.
 */
export const functionLogsSchema = z.strictObject({
  functionId: z.string().min(1).max(64),
  lines: z.array(logLineSchema).max(1000),
});
export type FunctionLogs = z.infer<typeof functionLogsSchema>;
