import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";

/** One grant of a Docker registry token: `repository:team/app:pull,push`. */
export const accessSchema = z.object({
  type: z.string(),
  name: z.string(),
  actions: z.array(z.string()),
});
export type Access = z.infer<typeof accessSchema>;

export const tokenClaimsSchema = z.object({
  iss: z.string(),
  sub: z.string(),
  aud: z.string(),
  exp: z.number(),
  nbf: z.number().optional(),
  iat: z.number(),
  jti: z.string().optional(),
  access: z.array(accessSchema),
});
export type TokenClaims = z.infer<typeof tokenClaimsSchema>;

export const tokenIssuer = "skiff";
export const tokenService = "skiff-registry";

const base64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");
const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));

/** Signs `claims` as a compact HS256 JWT. */
export function signToken(claims: TokenClaims, secret: string): string {
  const payload = `${header}.${base64url(JSON.stringify(claims))}`;
  const signature = createHmac("sha256", secret).update(payload).digest("base64url");
  return `${payload}.${signature}`;
}

/**
 * The claims of a token signed with `secret`, valid at `nowSeconds` for this registry; undefined
 * for anything else (bad signature, other algorithm, expired, other audience).
 */
export function verifyToken(
  token: string,
  secret: string,
  nowSeconds: number,
): TokenClaims | undefined {
  const [head, body, signature] = token.split(".");
  if (!head || !body || !signature || head !== header) return undefined;
  const expected = createHmac("sha256", secret).update(`${head}.${body}`).digest();
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let claims: TokenClaims;
  try {
    claims = tokenClaimsSchema.parse(JSON.parse(Buffer.from(body, "base64url").toString()));
  } catch {
    return undefined;
  }
  // A minute of leeway for clocks of replicas that disagree a little.
  if (claims.exp < nowSeconds - 60 || (claims.nbf ?? 0) > nowSeconds + 60) return undefined;
  if (claims.aud !== tokenService || claims.iss !== tokenIssuer) return undefined;
  return claims;
}
