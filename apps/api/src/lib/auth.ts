import { scopeAllows, type TokenScope } from "@skiff/shared";
import { createMiddleware } from "hono/factory";
import { findValidToken, touchToken } from "../auth/services/tokens.js";
import { authenticateNode } from "../compute/services/nodes.js";
import { errorResponse } from "./error-body.js";
import type { AppEnv } from "./hono-env.js";

const bearer = /^Bearer\s+(\S{1,512})$/i;

/**
 * Lets a request through only with a valid `Authorization: Bearer` token holding `scope` (or a
 * higher one): 401 without a valid token, 403 when its scopes fall short.
 */
export function requireScope(scope: TokenScope) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const secret = bearer.exec(c.req.header("authorization") ?? "")?.[1];
    if (!secret)
      return errorResponse(
        c,
        "Unauthorized",
        "missing bearer token: send 'Authorization: Bearer <token>'",
      );
    const { db, clock, logger } = c.get("services");
    const now = clock.now();
    const token = await findValidToken(db, secret, now);
    if (!token) return errorResponse(c, "Unauthorized", "the token is invalid, revoked or expired");
    const scopes = token.scopes as TokenScope[];
    if (!scopeAllows(scopes, scope)) {
      return errorResponse(
        c,
        "Forbidden",
        `this needs a token with scope '${scope}'; this one has ${scopes.join(", ")}`,
      );
    }
    c.set("caller", { tokenId: token.id, name: token.name, scopes });
    touchToken(db, token, now, logger);
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
