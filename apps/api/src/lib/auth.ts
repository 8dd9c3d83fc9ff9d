import { type ErrorCode, scopeAllows, type TokenScope } from "@skiff/shared";
import { createMiddleware } from "hono/factory";
import { findValidToken, touchToken } from "../auth/services/tokens.js";
import { authenticateNode } from "../compute/services/nodes.js";
import type { Services } from "../services.js";
import { errorResponse } from "./error-body.js";
import type { AppEnv, Caller } from "./hono-env.js";

const bearer = /^Bearer\s+(\S{1,512})$/i;

/** Who signed a request in, or why not (the error code and message to answer with). */
export type SignIn =
  | { caller: Caller }
  | { refused: Extract<ErrorCode, "Unauthorized" | "Forbidden">; message: string };

/**
 * Checks an `Authorization` header's bearer token for `scope` (or a higher one), from the token
 * cache: Unauthorized without a valid token, Forbidden when its scopes fall short.
 */
export async function signIn(
  services: Pick<Services, "db" | "clock" | "logger">,
  authorization: string | undefined,
  scope: TokenScope,
): Promise<SignIn> {
  const secret = bearer.exec(authorization ?? "")?.[1];
  if (!secret)
    return {
      refused: "Unauthorized",
      message: "missing bearer token: send 'Authorization: Bearer <token>'",
    };
  const { db, clock, logger } = services;
  const now = clock.now();
  const token = await findValidToken(db, secret, now);
  if (!token)
    return { refused: "Unauthorized", message: "the token is invalid, revoked or expired" };
  const scopes = token.scopes as TokenScope[];
  if (!scopeAllows(scopes, scope))
    return {
      refused: "Forbidden",
      message: `this needs a token with scope '${scope}'; this one has ${scopes.join(", ")}`,
    };
  touchToken(db, token, now, logger);
  return { caller: { tokenId: token.id, name: token.name, scopes } };
}

/**
 * Lets a request through only with a valid `Authorization: Bearer` token holding `scope` (or a
 * higher one): 401 without a valid token, 403 when its scopes fall short.
 */
export function requireScope(scope: TokenScope) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const signed = await signIn(c.get("services"), c.req.header("authorization"), scope);
    if ("refused" in signed) return errorResponse(c, signed.refused, signed.message);
    c.set("caller", signed.caller);
    return next();
  });
}

/** Spread into `createRoute({...})`: guards the route and documents the guard in the OpenAPI. */
export function authorized(scope: TokenScope) {
  return {
    security: [{ bearer: [] }],
    middleware: [requireScope(scope)],
    "x-skiff-scope": scope,
  };
}

/**
 * Lets a request through only with the credential of the node named by the `:id` path
 * parameter. API tokens, whatever their scope, are not node credentials.
 */
export function requireNode() {
  return createMiddleware<AppEnv>(async (c, next) => {
    const secret = bearer.exec(c.req.header("authorization") ?? "")?.[1];
    if (!secret) return errorResponse(c, "Unauthorized", "missing bearer node credential");
    const node = await authenticateNode(c.get("services").db, c.req.param("id") ?? "", secret);
    if (!node)
      return errorResponse(c, "Unauthorized", "the node credential is invalid for this node");
    c.set("node", node);
    return next();
  });
}

/** Spread into `createRoute({...})` of agent routes. */
export function nodeAuthorized() {
  return {
    security: [{ nodeCredential: [] }],
    middleware: [requireNode()],
    "x-skiff-auth": "node",
  };
}
