import { z } from "zod";
import { nameSchema } from "../names.js";

/** The pool a request that names none runs in. */
export const defaultPool = "default";
/** The platform's own capacity: agents may join it, users never target it directly. */
export const fargatePool = "fargate";

export const createPoolSchema = z.strictObject({ name: nameSchema });
export type CreatePool = z.infer<typeof createPoolSchema>;

export const poolSchema = z.object({
  name: z.string(),
  createdAt: z.string(),
  nodes: z.object({ active: z.number(), draining: z.number(), down: z.number() }),
});
export type Pool = z.infer<typeof poolSchema>;

export const createJoinTokenSchema = z.strictObject({
  ttlSeconds: z
    .number()
    .int()
    .min(60)
    .max(30 * 86_400)
    .default(86_400)
    .describe("How long agents may join with it"),
});

export const joinTokenSchema = z.object({
  token: z.string().describe("Shown once: pass it to an agent as SKIFF_JOIN_TOKEN"),
  pool: z.string(),
  expiresAt: z.string(),
});
export type JoinToken = z.infer<typeof joinTokenSchema>;
