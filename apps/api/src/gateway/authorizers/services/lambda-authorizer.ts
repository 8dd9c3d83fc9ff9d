import type { FunctionsRuntime } from "../../../functions/services/functions-runtime.js";
import { invokeFunction } from "../../../functions/services/invoke.js";
import type { Logger } from "../../../lib/logger.js";
import { type EventRequest, eventV2 } from "../../apis/services/lambda-events.js";

/** A function authorizer's answer: allowed or not, with the context the target then sees. */
export type LambdaVerdict =
  | { allowed: true; context: Record<string, unknown> }
  | { allowed: false; status: 403 | 500 };

/** How long the gateway waits for an authorizer function before answering 500. */
const authorizerTimeoutMs = 10_000;

/**
 * The authorizer event, payload 2.0, as API Gateway sends it: the request's event without its
 * body, plus `type`, `routeArn` and the identity source values.
 */
export function authorizerEvent(
  request: EventRequest,
  region: string,
  identitySource: string[],
): Record<string, unknown> {
  const { body: _body, isBase64Encoded: _encoded, ...event } = eventV2(request);
  const method = request.req.method ?? "GET";
  return {
    ...event,
    type: "REQUEST",
    routeArn: `arn:aws:execute-api:${region}:${request.accountId}:${request.apiId}/$default/${method}${request.rawPath}`,
    identitySource,
  };
}

/** Reads a simple response, `{isAuthorized, context?}`; undefined for anything else. */
export function simpleResponse(body: Buffer): LambdaVerdict | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { isAuthorized, context } = value as { isAuthorized?: unknown; context?: unknown };
  if (typeof isAuthorized !== "boolean") return undefined;
  if (!isAuthorized) return { allowed: false, status: 403 };
  const usable = typeof context === "object" && context !== null && !Array.isArray(context);
  return { allowed: true, context: usable ? (context as Record<string, unknown>) : {} };
}

/**
 * Asks the authorizer function: 403 when it says no, 500 when it fails, times out, cannot be
 * found or answers something else (as API Gateway does).
 */
export async function askFunction(
  runtime: FunctionsRuntime | undefined,
  functionName: string,
  request: Omit<EventRequest, "accountId">,
  identitySource: string[],
  logger: Logger,
): Promise<LambdaVerdict> {
  const failed = { allowed: false, status: 500 } as const;
  let timer: NodeJS.Timeout | undefined;
  try {
    const fn = await runtime?.directory.get(functionName);
    if (!runtime || !fn) {
      logger.warn({ function: functionName }, "an authorizer's function is not there");
      return failed;
    }
    const [, , , region = "", accountId = ""] = fn.arn.split(":");
    const event = authorizerEvent({ ...request, accountId }, region, identitySource);
    const invocation = invokeFunction(runtime, fn, Buffer.from(JSON.stringify(event)), {
      requestId: request.requestId,
    });
    invocation.catch(() => {});
    const timedOut = new Promise<"timeout">((done) => {
      timer = setTimeout(() => done("timeout"), authorizerTimeoutMs);
    });
    const result = await Promise.race([invocation, timedOut]);
    if (result === "timeout" || result.functionError) return failed;
    const verdict = simpleResponse(result.body);
    if (!verdict) {
      logger.warn({ function: functionName }, "an authorizer's answer is not {isAuthorized}");
      return failed;
    }
    return verdict;
  } catch (error) {
    logger.warn({ err: error, function: functionName }, "an authorizer's invocation failed");
    return failed;
  } finally {
    clearTimeout(timer);
  }
}
