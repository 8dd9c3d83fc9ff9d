import type { IncomingMessage } from "node:http";
import type { FunctionRuntimeConfig } from "../../../functions/services/function-config.js";
import type { FunctionsRuntime } from "../../../functions/services/functions-runtime.js";
import type { Logger } from "../../../lib/logger.js";
import { identityValues } from "./identity-source.js";
import { JwksCache, verifyJwt } from "./jwt-authorizer.js";
import {
  type AuthorizerAnswer,
  askFunction,
  authorizerEvent,
  routeArn,
  verdictFor,
} from "./lambda-authorizer.js";
import type { LoadedRouteAuthorization } from "./loaded.js";

/** `requestContext.authorizer` as payload 2.0 has it. */
export type AuthorizerOutput =
  | { jwt: { claims: Record<string, unknown>; scopes: string[] | null } }
  | { lambda: Record<string, unknown> };

export type AuthorizationResult =
  | { allowed: true; authorizer: AuthorizerOutput }
  | { allowed: false; status: 401 | 403 | 500 };

/** What authorizing needs to know of the request (the rest of a Lambda event's fields). */
export interface AuthorizationRequest {
  req: IncomingMessage;
  rawPath: string;
  rawQueryString: string;
  routeKey: string;
  resource: string;
  pathParameters: Record<string, string> | undefined;
  apiId: string;
  requestId: string;
  domainName: string;
  /**
   * A WebSocket API's `$connect`: the function is sent API Gateway's WebSocket REQUEST event,
   * this (the `$connect` event's headers, query and requestContext) with `type` and a
   * `methodArn` ending in `/$connect`, instead of an HTTP API's payload 2.0 event.
   */
  webSocketConnect?: Record<string, unknown> | undefined;
}

/** Past this many cached answers the oldest go first. */
const maxDecisions = 10_000;

/**
 * Per gateway process, kept across ApiTable reloads: the JWT key sets and the REQUEST
 * authorizers' answers by identity source values for their TTL (each gateway process asks the
 * function once per identity per TTL; replicas do not share answers).
 */
export class AuthorizerState {
  readonly jwks = new JwksCache();
  private readonly answers = new Map<
    string,
    { expires: number; answer: Promise<AuthorizerAnswer | undefined> }
  >();

  constructor(private readonly now: () => number = Date.now) {}

  /** A cached answer, or `ask()`'s, kept for `ttlMs` unless it failed (undefined: not kept). */
  decide(
    key: string,
    ttlMs: number,
    ask: () => Promise<AuthorizerAnswer | undefined>,
  ): Promise<AuthorizerAnswer | undefined> {
    if (ttlMs <= 0) return ask();
    const now = this.now();
    const cached = this.answers.get(key);
    if (cached && cached.expires > now) return cached.answer;
    if (cached) this.answers.delete(key);
    // Concurrent requests with the same identity share one invocation.
    const answer = ask();
    this.answers.set(key, { expires: now + ttlMs, answer });
    void answer.then((a) => {
      if (!a && this.answers.get(key)?.answer === answer) this.answers.delete(key);
    });
    if (this.answers.size > maxDecisions) {
      const oldest = this.answers.keys().next().value;
      if (oldest !== undefined) this.answers.delete(oldest);
    }
    return answer;
  }
}

/**
 * Runs a route's authorizer on a request: 401 without its identity sources or with a bad token,
 * 403 when refused, 500 when a function authorizer fails; else what the target sees of it.
 */
export async function authorize(
  authorization: LoadedRouteAuthorization,
  request: AuthorizationRequest,
  state: AuthorizerState,
  functions: FunctionsRuntime | undefined,
  logger: Logger,
): Promise<AuthorizationResult> {
  const authorizer = authorization.authorizer;
  if (!authorizer) return { allowed: false, status: 500 };
  const values = identityValues(request.req, request.rawQueryString, authorizer.identitySource);
  if (!values) return { allowed: false, status: 401 };
  if (authorizer.type === "JWT") {
    const verdict = await verifyJwt(
      values[0] as string,
      authorizer.jwt,
      state.jwks.keysFor(authorizer.jwt),
      authorization.scopes,
    );
    return verdict.allowed
      ? { allowed: true, authorizer: { jwt: { claims: verdict.claims, scopes: verdict.scopes } } }
      : verdict;
  }
  let fn: FunctionRuntimeConfig | undefined;
  try {
    fn = await functions?.directory.get(authorizer.function);
  } catch (error) {
    logger.warn({ err: error, function: authorizer.function }, "authorizer lookup failed");
  }
  if (!functions || !fn) {
    logger.warn({ function: authorizer.function }, "an authorizer's function is not there");
    return { allowed: false, status: 500 };
  }
  const runtime = functions;
  const config = fn;
  const connect = request.webSocketConnect;
  const arn = connect
    ? routeArn(config, request.apiId, "", "$connect")
    : routeArn(config, request.apiId, request.req.method ?? "GET", request.rawPath);
  const key = JSON.stringify([authorizer.id, authorizer.function, authorizer.simple, values]);
  const answer = await state.decide(key, authorizer.ttlMs, () => {
    const event = connect
      ? { type: "REQUEST", methodArn: arn, ...connect }
      : authorizerEvent(
          {
            ...request,
            body: Buffer.alloc(0),
            apiKeyId: undefined,
            accountId: config.arn.split(":")[4] ?? "",
            now: new Date(),
          },
          arn,
          values,
        );
    return askFunction(runtime, config, event, authorizer.simple, request.requestId, logger);
  });
  if (!answer) return { allowed: false, status: 500 };
  const verdict = verdictFor(answer, arn);
  return verdict.allowed ? { allowed: true, authorizer: { lambda: verdict.context } } : verdict;
}
