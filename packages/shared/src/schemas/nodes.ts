import { z } from "zod";
import { nameSchema } from "../names.js";
import { paginationQuerySchema } from "./pagination.js";

export const nodeStates = ["active", "draining", "down"] as const;
export const nodeStateSchema = z.enum(nodeStates);
export type NodeState = z.infer<typeof nodeStateSchema>;

/** Cpu in units (1024 = one core) and memory in MiB. */
export const resourcesSchema = z.object({
  cpu: z.number().int().min(0),
  memory: z.number().int().min(0),
});
export type Resources = z.infer<typeof resourcesSchema>;

/** Labels for placement constraints: `os`, `arch`, `hostname` plus the operator's own. */
export const attributesSchema = z
  .record(z.string().regex(/^[a-zA-Z0-9._/-]{1,63}$/), z.string().max(253))
  .refine((attributes) => Object.keys(attributes).length <= 64, "at most 64 attributes");

export const nodeSchema = z.object({
  id: z.string(),
  pool: z.string(),
  name: z.string(),
  state: nodeStateSchema,
  capacity: resourcesSchema,
  allocated: resourcesSchema,
  attributes: z.record(z.string(), z.string()),
  /** Address other hosts (the gateway) reach this node's published ports at. */
  address: z.string(),
  lastHeartbeatAt: z.string().nullable(),
  registeredAt: z.string(),
});
export type Node = z.infer<typeof nodeSchema>;

export const listNodesQuerySchema = paginationQuerySchema.extend({
  pool: nameSchema.optional(),
});
export type ListNodesQuery = z.input<typeof listNodesQuerySchema>;
