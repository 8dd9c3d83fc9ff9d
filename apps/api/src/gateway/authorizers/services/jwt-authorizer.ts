import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";
import type { JwtConfig } from "../schema/authorizers.js";

export type JwtVerdict =
  | { allowed: true; claims: JWTPayload; scopes: string[] | null }
  | { allowed: false; status: 401 | 403 };

/**
 * Key sets by where they come from, kept across ApiTable reloads: jose's remote sets cache the
 * issuer's keys and refetch on an unknown `kid`, so a steady gateway fetches them once.
 */
export class JwksCache {
  private readonly sets = new Map<string, JWTVerifyGetKey>();

  keysFor(jwt: JwtConfig): JWTVerifyGetKey {
    const key = jwt.jwksUri ?? (jwt.keys ? JSON.stringify(jwt.keys) : `discover:${jwt.issuer}`);
    let set = this.sets.get(key);
    if (!set) {
      set = jwt.jwksUri
        ? createRemoteJWKSet(new URL(jwt.jwksUri))
        : jwt.keys
          ? createLocalJWKSet(jwt.keys as Parameters<typeof createLocalJWKSet>[0])
          : discoveredKeys(jwt.issuer);
      this.sets.set(key, set);
    }
    return set;
  }
}

/** The issuer's keys found as API Gateway finds them: its OpenID configuration's jwks_uri. */
function discoveredKeys(issuer: string): JWTVerifyGetKey {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  return async (header, token) => {
    if (!keys) {
      const found = (async () => {
        const url = `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
        const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
        if (!response.ok) throw new Error(`${url} answered ${response.status}`);
        const document = (await response.json()) as { jwks_uri?: unknown };
        if (typeof document.jwks_uri !== "string") throw new Error(`${url} has no jwks_uri`);
        return createRemoteJWKSet(new URL(document.jwks_uri));
      })();
      // A failed discovery is tried again by the next request, not kept.
      found.catch(() => {
        if (keys === found) keys = undefined;
      });
      keys = found;
    }
    return (await keys)(header, token);
  };
}

/** The token's scopes: `scope` (space-separated) or `scp` (a list or a string). */
export function tokenScopes(claims: JWTPayload): string[] | null {
  const raw = claims.scope ?? claims.scp;
  if (typeof raw === "string") return raw.split(" ").filter(Boolean);
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === "string");
  return null;
}

/**
 * Checks a token as API Gateway's JWT authorizer does: signature by the issuer's keys, `iss`,
 * `exp` (required) and `nbf`, `aud` (or `client_id` when the token has no `aud`) among the
 * audiences; 401 for any failure, 403 when the route wants scopes the token has none of.
 */
export async function verifyJwt(
  identity: string,
  jwt: JwtConfig,
  keys: JWTVerifyGetKey,
  routeScopes: readonly string[],
): Promise<JwtVerdict> {
  const token = identity.replace(/^Bearer\s+/i, "");
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(token, keys, {
      issuer: jwt.issuer,
      requiredClaims: ["exp"],
    }));
  } catch {
    return { allowed: false, status: 401 };
  }
  const audiences =
    claims.aud === undefined
      ? typeof claims.client_id === "string"
        ? [claims.client_id]
        : []
      : Array.isArray(claims.aud)
        ? claims.aud
        : [claims.aud];
  if (!audiences.some((aud) => jwt.audience.includes(aud))) return { allowed: false, status: 401 };
  const scopes = tokenScopes(claims);
  if (routeScopes.length > 0 && !scopes?.some((scope) => routeScopes.includes(scope)))
    return { allowed: false, status: 403 };
  return { allowed: true, claims, scopes };
}
