import type { FunctionRuntimeConfig } from "../../../functions/services/function-config.js";
import type { FunctionsRuntime } from "../../../functions/services/functions-runtime.js";
import { invokeFunction } from "../../../functions/services/invoke.js";
import { LambdaError } from "../../../functions/services/lambda-errors.js";
import type { Logger } from "../../../lib/logger.js";
import type { LoadedRoute } from "../../apis/services/api-table.js";

export type RouteOutcome =
  | { kind: "ok"; response: unknown }
  | { kind: "error"; status: 429 | 500 | 504; message: string };

const internal = { kind: "error", status: 500, message: "Internal server error" } as const;

/**
 * Invokes a WebSocket route's function with `event` within the route's integration timeout.
 * The function's result is parsed JSON (undefined when it returned nothing or not JSON); its
 * failure, a throttle or the timeout is an error outcome, never a throw.
 */
export async function invokeRouteFunction(
  runtime: FunctionsRuntime | undefined,
  route: LoadedRoute,
  event: unknown,
  requestId: string,
  logger: Logger,
): Promise<RouteOutcome> {
  const target = route.target;
  if (!runtime || !("function" in target)) return internal;
  let fn: FunctionRuntimeConfig | undefined;
  try {
    fn = await runtime.directory.get(target.function);
  } catch (error) {
    logger.warn({ err: error, function: target.function }, "function lookup failed");
  }
  if (!fn) return internal;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((done) => {
    timer = setTimeout(() => done("timeout"), target.timeoutMs);
  });
  const invocation = invokeFunction(runtime, fn, Buffer.from(JSON.stringify(event)), {
    requestId,
  });
  invocation.catch(() => {});
  try {
    const result = await Promise.race([invocation, timedOut]);
    if (result === "timeout")
      return { kind: "error", status: 504, message: "Endpoint request timed out" };
    if (result.functionError) return internal;
    if (result.body.length === 0) return { kind: "ok", response: undefined };
    try {
      return { kind: "ok", response: JSON.parse(result.body.toString("utf8")) };
    } catch {
      return { kind: "ok", response: undefined };
    }
  } catch (error) {
    if (error instanceof LambdaError && error.status === 429)
      return { kind: "error", status: 429, message: "Too Many Requests" };
    logger.warn({ err: error, function: target.function }, "websocket route invocation failed");
    return internal;
  } finally {
    clearTimeout(timer);
  }
}
