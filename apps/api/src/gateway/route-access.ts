import type { FunctionsRuntime } from "../functions/services/functions-runtime.js";
import type { Logger } from "../lib/logger.js";
import type { AccessGate, Throttle } from "./access.js";
import type { LoadedRoute } from "./apis/services/api-table.js";
import { gatewayMessages } from "./apis/services/integration-responses.js";
import {
  type AuthorizationRequest,
  type AuthorizerOutput,
  type AuthorizerState,
  authorize,
} from "./authorizers/services/authorize.js";

/** What checking a route's callers needs: the access gate and the authorizers' state. */
export interface RouteAccessContext {
  gate: AccessGate;
  authorizers: AuthorizerState;
  functions: FunctionsRuntime | undefined;
  logger: Logger;
}

export type RouteAccess =
  | {
      allowed: true;
      /** What the route's authorizer found; undefined on a route without one. */
      authorizer: AuthorizerOutput | undefined;
      /** The key whose plan metered the request, if any. */
      apiKeyId: string | undefined;
      /** `X-RateLimit-*` of the limits that applied. */
      headers: Record<string, string>;
    }
  | {
      allowed: false;
      status: 401 | 403 | 429 | 500;
      /** API Gateway's answer, `{"message": ...}`. */
      body: string;
      headers: Record<string, string>;
      /** Refused by a throttle or quota (429 from the gate), not by the authorizer. */
      throttled: boolean;
    };

/**
 * Who may call a route, in API Gateway's order: the route's authorizer first (401 without its
 * identity sources, 403 refused, 500 when it fails), then the access gate (API key 403,
 * throttles and quota 429). One function for HTTP API requests and WebSocket `$connect`s, so
 * both answer alike.
 */
export async function checkRouteAccess(
  api: { id: string; throttle: Throttle | undefined },
  route: Pick<LoadedRoute, "routeKey" | "apiKeyRequired" | "throttle" | "authorization">,
  request: AuthorizationRequest,
  context: RouteAccessContext,
): Promise<RouteAccess> {
  let authorizer: AuthorizerOutput | undefined;
  if (route.authorization) {
    const verdict = await authorize(
      route.authorization,
      request,
      context.authorizers,
      context.functions,
      context.logger,
    );
    if (!verdict.allowed)
      return {
        allowed: false,
        status: verdict.status,
        body: JSON.stringify({ message: gatewayMessages[verdict.status] }),
        headers: { "content-type": "application/json" },
        throttled: false,
      };
    authorizer = verdict.authorizer;
  }
  const apiKey = request.req.headers["x-api-key"];
  const decision = await context.gate.admit({
    apiId: api.id,
    routeKey: route.routeKey,
    apiKeyRequired: route.apiKeyRequired,
    apiKey: typeof apiKey === "string" ? apiKey : undefined,
    apiThrottle: api.throttle,
    routeThrottle: route.throttle,
  });
  if (!decision.allowed)
    return {
      allowed: false,
      status: decision.status,
      body: decision.body,
      headers: decision.headers,
      throttled: decision.status === 429,
    };
  return { allowed: true, authorizer, apiKeyId: decision.apiKeyId, headers: decision.headers };
}
