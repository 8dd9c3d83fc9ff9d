import type { IncomingMessage } from "node:http";
import type { FunctionsRuntime } from "../../../functions/services/functions-runtime.js";
import type { Logger } from "../../../lib/logger.js";
import { identityValues } from "./identity-source.js";
import { JwksCache, verifyJwt } from "./jwt-authorizer.js";
import { askFunction, type LambdaVerdict } from "./lambda-authorizer.js";
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
}

/** Past this many cached decisions the oldest go first. */
const maxDecisions = 10_000;

/**
 * Per gateway process, kept across ApiTable reloads: the JWT key sets and the REQUEST
 * authorizers' decisions by identity source values for their TTL (each gateway process asks the
 * function once per identity per TTL; replicas do not share decisions).
 */
export class AuthorizerState {
  readonly jwks = new JwksCache();
  private readonly decisions = new Map<
    string,
    { expires: number; verdict: Promise<LambdaVerdict> }
  >();

  constructor(private readonly now: () => number = Date.now) {}

  /** A cached decision, or `ask()`'s, kept for `ttlMs` unless it failed (500s are not kept). */
  decide(key: string, ttlMs: number, ask: () => Promise<LambdaVerdict>): Promise<LambdaVerdict> {
    if (ttlMs <= 0) return ask();
    const now = this.now();
    const cached = this.decisions.get(key);
    if (cached && cached.expires > now) return cached.verdict;
    if (cached) this.decisions.delete(key);
    // Concurrent requests with the same identity share one invocation.
    const verdict = ask();
    this.decisions.set(key, { expires: now + ttlMs, verdict });
    void verdict.then((v) => {
      if (!v.allowed && v.status === 500 && this.decisions.get(key)?.verdict === verdict)
        this.decisions.delete(key);
    });
    if (this.decisions.size > maxDecisions) {
      const oldest = this.decisions.keys().next().value;
      if (oldest !== undefined) this.decisions.delete(oldest);
    }
    return verdict;
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
  const key = JSON.stringify([authorizer.id, authorizer.function, values]);
  const verdict = await state.decide(key, authorizer.ttlMs, () =>
    askFunction(
      functions,
      authorizer.function,
      { ...request, body: Buffer.alloc(0), apiKeyId: undefined, now: new Date() },
      values,
      logger,
    ),
  );
  return verdict.allowed ? { allowed: true, authorizer: { lambda: verdict.context } } : verdict;
}
