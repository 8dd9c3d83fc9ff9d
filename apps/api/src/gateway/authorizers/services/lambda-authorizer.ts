import type { FunctionRuntimeConfig } from "../../../functions/services/function-config.js";
import type { FunctionsRuntime } from "../../../functions/services/functions-runtime.js";
import { invokeFunction } from "../../../functions/services/invoke.js";
import type { Logger } from "../../../lib/logger.js";
import { type EventRequest, eventV2 } from "../../apis/services/lambda-events.js";

/** An IAM policy statement as an authorizer returns it, its lists normalised. */
interface Statement {
  effect: "Allow" | "Deny";
  actions: string[];
  resources: string[];
}

/**
 * What an authorizer function answered, kept as is in the cache: a policy is checked against
 * each request's route ARN, as API Gateway does with a cached policy.
 */
export type AuthorizerAnswer =
  | { kind: "simple"; isAuthorized: boolean; context: Record<string, unknown> }
  | { kind: "policy"; statements: Statement[]; context: Record<string, unknown> };

export type LambdaVerdict =
  | { allowed: true; context: Record<string, unknown> }
  | { allowed: false; status: 403 | 500 };

/** How long the gateway waits for an authorizer function before answering 500. */
const authorizerTimeoutMs = 10_000;

/** `arn:aws:execute-api:<region>:<account>:<api>/$default/<METHOD><path>`, for `fn`'s account. */
export function routeArn(fn: FunctionRuntimeConfig, apiId: string, method: string, path: string) {
  const [, , , region = "", account = ""] = fn.arn.split(":");
  return `arn:aws:execute-api:${region}:${account}:${apiId}/$default/${method}${path}`;
}

/**
 * The authorizer event, payload 2.0, as API Gateway sends it: the request's event without its
 * body, plus `type`, `routeArn` and the identity source values.
 */
export function authorizerEvent(
  request: EventRequest,
  arn: string,
  identitySource: string[],
): Record<string, unknown> {
  const { body: _body, isBase64Encoded: _encoded, ...event } = eventV2(request);
  return { ...event, type: "REQUEST", routeArn: arn, identitySource };
}

const asObject = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;

const asStrings = (value: unknown): string[] | undefined =>
  typeof value === "string"
    ? [value]
    : Array.isArray(value) && value.every((v) => typeof v === "string")
      ? value
      : undefined;

/**
 * Reads a function's answer: `{isAuthorized, context?}` (simple responses) or
 * `{principalId?, policyDocument: {Statement}, context?}` (an IAM policy); undefined for
 * anything else (a 500, as API Gateway answers).
 */
export function readAnswer(body: Buffer, simple: boolean): AuthorizerAnswer | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
  const value = asObject(parsed);
  if (!value) return undefined;
  const context = asObject(value.context) ?? {};
  if (simple) {
    if (typeof value.isAuthorized !== "boolean") return undefined;
    return { kind: "simple", isAuthorized: value.isAuthorized, context };
  }
  const raw = asObject(value.policyDocument)?.Statement;
  const list = Array.isArray(raw) ? raw : raw === undefined ? undefined : [raw];
  if (!list) return undefined;
  const statements: Statement[] = [];
  for (const item of list) {
    const statement = asObject(item);
    const actions = asStrings(statement?.Action);
    const resources = asStrings(statement?.Resource);
    const effect = statement?.Effect;
    if (!actions || !resources || (effect !== "Allow" && effect !== "Deny")) return undefined;
    statements.push({ effect, actions, resources });
  }
  return { kind: "policy", statements, context };
}

/** IAM's wildcards: `*` any run of characters, `?` one. */
function matches(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern
    .split("")
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`, ignoreCase ? "i" : "").test(value);
}

/** The answer applied to one request: a policy allows when an Allow covers it and no Deny does. */
export function verdictFor(answer: AuthorizerAnswer, arn: string): LambdaVerdict {
  if (answer.kind === "simple")
    return answer.isAuthorized
      ? { allowed: true, context: answer.context }
      : { allowed: false, status: 403 };
  const covering = answer.statements.filter(
    (s) =>
      s.actions.some((a) => matches(a, "execute-api:Invoke", true)) &&
      s.resources.some((r) => matches(r, arn)),
  );
  if (covering.some((s) => s.effect === "Deny") || !covering.some((s) => s.effect === "Allow"))
    return { allowed: false, status: 403 };
  return { allowed: true, context: answer.context };
}

/** Asks the authorizer function; undefined when it fails, times out or answers something else. */
export async function askFunction(
  runtime: FunctionsRuntime,
  fn: FunctionRuntimeConfig,
  event: Record<string, unknown>,
  simple: boolean,
  requestId: string,
  logger: Logger,
): Promise<AuthorizerAnswer | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const invocation = invokeFunction(runtime, fn, Buffer.from(JSON.stringify(event)), {
      requestId,
    });
    invocation.catch(() => {});
    const timedOut = new Promise<"timeout">((done) => {
      timer = setTimeout(() => done("timeout"), authorizerTimeoutMs);
    });
    const result = await Promise.race([invocation, timedOut]);
    if (result === "timeout" || result.functionError) return undefined;
    const answer = readAnswer(result.body, simple);
    if (!answer)
      logger.warn(
        { function: fn.name },
        simple
          ? "an authorizer's answer is not {isAuthorized}"
          : "an authorizer's answer is not an IAM policy",
      );
    return answer;
  } catch (error) {
    logger.warn({ err: error, function: fn.name }, "an authorizer's invocation failed");
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
