import type { Context } from "hono";
import type { RegistryContext } from "../context.js";
import { errorBody } from "../errors.js";
import type { Target } from "../routes/paths.js";
import { findRepository } from "../services/repositories.js";
import { type Access, tokenService, verifyToken } from "./jwt.js";
import { allows } from "./scope.js";

const bearer = /^Bearer\s+(\S{1,8192})$/i;

function challenge(ctx: RegistryContext, scope?: string, error?: string): string {
  const parts = [`realm="${ctx.realm}"`, `service="${tokenService}"`];
  if (scope) parts.push(`scope="${scope}"`);
  if (error) parts.push(`error="${error}"`);
  return `Bearer ${parts.join(",")}`;
}

/** What the scope in a challenge asks for: pushes ask for pull too, as Docker does. */
function scopeFor(name: string, action: "pull" | "push" | "delete"): string {
  if (action === "pull") return `repository:${name}:pull`;
  return `repository:${name}:pull,${action}`;
}

/**
 * Checks the bearer token of a request against what it needs. Answers 401 with the challenge
 * that sends Docker to the api's token endpoint when the token is missing or invalid, and 403
 * DENIED when a valid token lacks the action. Pulls of a repository open to anonymous pulls
 * need no token. Returns the response to send, or the grants when the request may go on.
 */
export async function authorize(
  c: Context,
  ctx: RegistryContext,
  target: Target,
  action: "pull" | "push" | "delete" | undefined,
): Promise<Response | Access[]> {
  const name = "name" in target ? target.name : undefined;
  const scope =
    name && action
      ? scopeFor(name, action)
      : target.kind === "catalog"
        ? "registry:catalog:*"
        : undefined;
  const token = bearer.exec(c.req.header("authorization") ?? "")?.[1];
  const claims = token ? verifyToken(token, ctx.secret, Math.floor(Date.now() / 1000)) : undefined;
  if (!claims) {
    if (name && action === "pull" && (await findRepository(ctx.db, name))?.anonymousPull) return [];
    const body = errorBody(
      "UNAUTHORIZED",
      token ? "the token is invalid or expired" : "authentication required",
      scope
        ? [{ Type: scope.split(":")[0], Name: name ?? "catalog", Action: action ?? "*" }]
        : null,
    );
    return c.json(body, 401, {
      "WWW-Authenticate": challenge(ctx, scope, token ? "invalid_token" : undefined),
    });
  }
  if (target.kind === "catalog") {
    if (claims.access.some((grant) => grant.type === "registry" && grant.name === "catalog")) {
      return claims.access;
    }
    return c.json(
      errorBody("DENIED", "listing the catalog needs a token with registry:catalog:*"),
      403,
    );
  }
  if (!name || !action || allows(claims.access, name, action)) return claims.access;
  if (action === "pull" && (await findRepository(ctx.db, name))?.anonymousPull)
    return claims.access;
  return c.json(
    errorBody("DENIED", `requested access to the resource is denied: ${action} on ${name}`),
    403,
  );
}
