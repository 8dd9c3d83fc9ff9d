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
  maxUses: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .nullable()
    .default(null)
    .describe(
      "How many nodes may join with it; null (the default) for any number until it expires, as for an autoscaling group. The dashboard asks for 1.",
    ),
});
export type CreateJoinToken = z.input<typeof createJoinTokenSchema>;

export const joinTokenSchema = z.object({
  /** The id to list or revoke it by. */
  id: z.string(),
  token: z.string().describe("Shown once: pass it to an agent as SKIFF_JOIN_TOKEN"),
  pool: z.string(),
  expiresAt: z.string(),
  maxUses: z.number().nullable(),
});
export type JoinToken = z.infer<typeof joinTokenSchema>;

/** A join token as listed: never its secret. */
export const joinTokenInfoSchema = z.object({
  id: z.string(),
  pool: z.string(),
  /** The secret's first characters (null for tokens made before they were kept). */
  prefix: z.string().nullable(),
  createdAt: z.string(),
  expiresAt: z.string(),
  maxUses: z.number().nullable(),
  uses: z.number(),
  revokedAt: z.string().nullable(),
  /** `active` while agents may still join with it. */
  state: z.enum(["active", "expired", "used-up", "revoked"]),
});
export type JoinTokenInfo = z.infer<typeof joinTokenInfoSchema>;
