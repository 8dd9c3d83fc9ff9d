import { randomUUID } from "node:crypto";
import { inArray } from "drizzle-orm";
import type { RegistryDatabase } from "../db/client.js";
import { registryRepositories } from "../db/schema/index.js";
import { isValidName } from "../names.js";
import { type Access, signToken, tokenIssuer, tokenService } from "./jwt.js";
import { parseScopes } from "./scope.js";
import { ensureSigningSecret } from "./signing-secret.js";

export type RegistryAction = "pull" | "push" | "delete";

export interface TokenRequest {
  /** Who the token is for (a token id, a node id, `anonymous`), for the registry's logs. */
  subject: string;
  /** The `scope` parameters of the request. */
  scopes: string[];
  /** What the caller may do on any repository; undefined for anonymous callers. */
  actions: readonly RegistryAction[] | undefined;
  /**
   * When given, `actions` apply to these repositories only and the caller gets nothing on any
   * other (a node pulls only what it runs).
   */
  repositories?: ReadonlySet<string>;
  ttlSeconds?: number;
  now?: Date;
}

/** The Docker token spec's answer. */
export interface IssuedToken {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
}

/**
 * Issues a registry token granting what was asked, cut down to what the caller may do.
 * Anonymous callers get pull on repositories open to anonymous pulls and nothing else; a
 * token without grants still opens `/v2/` (docker login checks it).
 */
export async function issueRegistryToken(
  db: RegistryDatabase,
  request: TokenRequest,
): Promise<IssuedToken> {
  const requested = parseScopes(request.scopes);
  const access: Access[] = [];
  const anonymousNames = new Set<string>();
  if (!request.actions) {
    const names = requested
      .filter((one) => one.type === "repository" && isValidName(one.name))
      .map((one) => one.name);
    if (names.length) {
      const rows = await db
        .select({
          name: registryRepositories.name,
          anonymousPull: registryRepositories.anonymousPull,
        })
        .from(registryRepositories)
        .where(inArray(registryRepositories.name, names));
      for (const row of rows) if (row.anonymousPull) anonymousNames.add(row.name);
    }
  }
  for (const one of requested) {
    if (
      one.type === "registry" &&
      one.name === "catalog" &&
      request.actions &&
      !request.repositories
    ) {
      access.push({ type: "registry", name: "catalog", actions: ["*"] });
      continue;
    }
    if (one.type !== "repository" || !isValidName(one.name)) continue;
    if (request.repositories && !request.repositories.has(one.name)) continue;
    const may: readonly string[] =
      request.actions ?? (anonymousNames.has(one.name) ? ["pull"] : []);
    const actions = one.actions.filter(
      (action) => may.includes(action) || (action === "*" && may.length === 3),
    );
    if (actions.length) access.push({ type: "repository", name: one.name, actions });
  }
  const now = request.now ?? new Date();
  const ttl = request.ttlSeconds ?? 300;
  const iat = Math.floor(now.getTime() / 1000);
  const token = signToken(
    {
      iss: tokenIssuer,
      sub: request.subject,
      aud: tokenService,
      iat,
      nbf: iat,
      exp: iat + ttl,
      jti: randomUUID(),
      access,
    },
    await ensureSigningSecret(db),
  );
  return { token, access_token: token, expires_in: ttl, issued_at: now.toISOString() };
}
