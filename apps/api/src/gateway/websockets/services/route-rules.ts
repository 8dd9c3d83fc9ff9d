import { ApiError } from "../../../lib/errors.js";
import type { RouteTarget } from "../../apis/schema/apis.js";
import { parseRouteKey } from "../../apis/services/route-key.js";

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
