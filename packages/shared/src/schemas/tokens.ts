import { z } from "zod";

/**
 * What a token may do. `read`: every GET. `deploy`: read, plus creating and changing workloads
 * (task definitions, tasks, services, images). `admin`: everything, including tokens, pools and
 * nodes. A higher scope includes the lower ones.
 */
export const tokenScopes = ["read", "deploy", "admin"] as const;
export const tokenScopeSchema = z.enum(tokenScopes);
export type TokenScope = z.infer<typeof tokenScopeSchema>;

/** Whether a token holding `held` may do what needs `needed`. */
export function scopeAllows(held: readonly TokenScope[], needed: TokenScope): boolean {
  const rank = tokenScopes.indexOf(needed);
  return held.some((scope) => tokenScopes.indexOf(scope) >= rank);
}

export const createTokenSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(tokenScopeSchema).min(1).max(tokenScopes.length),
  expiresAt: z.iso
    .datetime({ offset: true })
    .optional()
    .describe("When the token stops working; never when absent"),
});
export type CreateToken = z.infer<typeof createTokenSchema>;

export const tokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(tokenScopeSchema),
  prefix: z.string().describe("The first characters of the secret, to tell tokens apart"),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
});
export type Token = z.infer<typeof tokenSchema>;

export const createdTokenSchema = tokenSchema.extend({
  token: z.string().describe("The secret. Shown once: only its hash is stored."),
});
export type CreatedToken = z.infer<typeof createdTokenSchema>;

export const whoamiSchema = z.object({
  tokenId: z.string(),
  name: z.string(),
  scopes: z.array(tokenScopeSchema),
});
export type Whoami = z.infer<typeof whoamiSchema>;
