import { ApiError } from "../../../lib/errors.js";
import type { RouteTarget } from "../../apis/schema/apis.js";
import { parseRouteKey } from "../../apis/services/route-key.js";
import { isWebSocketIdentitySource } from "../../authorizers/services/identity-source.js";

export type ProtocolType = "HTTP" | "WEBSOCKET";

/** API Gateway's default for WebSocket APIs: the `action` field of a JSON message. */
export const defaultRouteSelectionExpression = "$request.body.action";

/** `$connect`, `$disconnect`, `$default`, or an action name a message selects. */
const webSocketKey = /^(\$connect|\$disconnect|\$default|[A-Za-z0-9_.:~@-]{1,128})$/;
const selectionExpression = /^\$request\.body(\.[A-Za-z_][A-Za-z0-9_-]{0,63}){1,8}$/;

export function isWebSocketRouteKey(key: string): boolean {
  return webSocketKey.test(key);
}

/** Why `expression` cannot select routes, or undefined when it can. */
export function selectionExpressionProblem(expression: string): string | undefined {
  return selectionExpression.test(expression)
    ? undefined
    : 'must be "$request.body.<field>" with dotted fields, e.g. "$request.body.action"';
}

/**
 * Checks a route against its API's protocol, as the route schema cannot (it does not know the
 * API): an HTTP API's key is `METHOD /path` or `$default`; a WebSocket API's key is `$connect`,
 * `$disconnect`, `$default` or an action, and its target a function (as API Gateway, which
 * gives WebSocket routes Lambda proxy integrations here). Throws a ValidationError (400).
 */
export function checkRouteForProtocol(
  protocol: ProtocolType,
  routeKey: string | undefined,
  target: RouteTarget | undefined,
): void {
  if (protocol === "HTTP") {
    if (routeKey === undefined) return;
    try {
      parseRouteKey(routeKey);
    } catch (error) {
      throw new ApiError("ValidationError", `routeKey: ${(error as Error).message}`);
    }
    return;
  }
  if (routeKey !== undefined && !isWebSocketRouteKey(routeKey))
    throw new ApiError(
      "ValidationError",
      "routeKey: a WebSocket API's route key is $connect, $disconnect, $default or an action name of 1-128 letters, digits and _.:~@-",
    );
  if (target !== undefined && !("function" in target))
    throw new ApiError("ValidationError", "target: a WebSocket API's routes target functions only");
}

/**
 * A WebSocket API checks keys and authorizers when a client connects, never per message (as API
 * Gateway): only its `$connect` route may require an API key or name an authorizer, and that
 * authorizer is a REQUEST (function) one, JWT being an HTTP API authorizer. Takes the route as
 * it will be stored; throws a ValidationError (400).
 */
export function checkRouteAccessForProtocol(
  protocol: ProtocolType,
  route: {
    routeKey: string;
    apiKeyRequired: boolean;
    authorizationType: "NONE" | "JWT" | "CUSTOM";
  },
): void {
  if (protocol !== "WEBSOCKET") return;
  if (route.authorizationType === "JWT")
    throw new ApiError(
      "ValidationError",
      "authorizationType: a WebSocket API's $connect takes a CUSTOM (REQUEST function) authorizer; JWT authorizers are for HTTP APIs",
    );
  if (route.routeKey === "$connect") return;
  if (route.apiKeyRequired)
    throw new ApiError(
      "ValidationError",
      `apiKeyRequired: a WebSocket API checks API keys on $connect only, not on ${route.routeKey}`,
    );
  if (route.authorizationType !== "NONE")
    throw new ApiError(
      "ValidationError",
      `authorizationType: a WebSocket API authorizes on $connect only, not on ${route.routeKey}`,
    );
}

/**
 * An authorizer's type and identity sources against its API's protocol (400 otherwise): a
 * WebSocket API has REQUEST authorizers only; `route.request.*` sources are WebSocket APIs'.
 */
export function checkAuthorizerForProtocol(
  protocol: ProtocolType,
  type: "JWT" | "REQUEST",
  identitySource: readonly string[] | undefined,
): void {
  if (protocol === "WEBSOCKET") {
    if (type === "JWT")
      throw new ApiError(
        "ValidationError",
        "type: a WebSocket API takes REQUEST (function) authorizers; JWT authorizers are for HTTP APIs",
      );
    return;
  }
  const webSocketOnly = identitySource?.find(isWebSocketIdentitySource);
  if (webSocketOnly)
    throw new ApiError(
      "ValidationError",
      `identitySource: ${webSocketOnly} is a WebSocket API's; an HTTP API's is $request.header.<name> or $request.querystring.<name>`,
    );
}
