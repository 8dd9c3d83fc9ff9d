import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { scopeAllows, type TokenScope } from "@skiff/shared";
import { findValidToken } from "../../../auth/services/tokens.js";
import type { Database } from "../../../db/client.js";
import type { FunctionRuntimeConfig } from "../../../functions/services/function-config.js";
import type { FunctionsRuntime } from "../../../functions/services/functions-runtime.js";
import { invokeFunction } from "../../../functions/services/invoke.js";
import { LambdaError } from "../../../functions/services/lambda-errors.js";
import type { Logger } from "../../../lib/logger.js";
import type { AccessGate } from "../../access.js";
import type { AuthorizerOutput, AuthorizerState } from "../../authorizers/services/authorize.js";
import { type ForwardContext, forward } from "../../forward.js";
import type { RequestObserver } from "../../observe/observer.js";
import { functionUrlApiId } from "../../observe/request-metrics.js";
import { checkRouteAccess } from "../../route-access.js";
import type { Target } from "../../targets.js";
import type { LoadedApi, LoadedRoute } from "./api-table.js";
import { answerPreflight, setCorsHeaders } from "./cors.js";
import { sendMessage } from "./integration-responses.js";
import { type EventRequest, eventV1, eventV2, proxyResponse } from "./lambda-events.js";

export interface PipelineContext {
  gate: AccessGate;
  /** The invoke path; without it, routes to functions answer 500. */
  functions: FunctionsRuntime | undefined;
  forward: ForwardContext;
  /** A service's healthy targets, in the order to try them. */
  serviceTargets(service: string): readonly Target[] | undefined;
  /** For function URLs with authType SKIFF_TOKEN (token rows are cached in memory). */
  db: Database;
  logger: Logger;
  /** JWT key sets and function authorizers' cached decisions (gateway/authorizers). */
  authorizers: AuthorizerState;
  /** The access log and request metrics (gateway/observe); none: requests are not observed. */
  observer?: RequestObserver | undefined;
}

/** Lambda's synchronous payload limit: a bigger request cannot become an event. */
const maxEventBodyBytes = 6 * 1024 * 1024;

function splitUrl(url: string): { path: string; query: string } {
  const mark = url.indexOf("?");
  return mark === -1
    ? { path: url, query: "" }
    : { path: url.slice(0, mark), query: url.slice(mark + 1) };
}

function hostName(host: string | undefined): string {
  if (!host) return "";
  const colon = host.lastIndexOf(":");
  return (colon > host.lastIndexOf("]") ? host.slice(0, colon) : host).toLowerCase();
}

/** The request's body, whole; undefined past `limit` (the caller answers 413). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(Buffer.concat(chunks, size)));
    req.once("error", reject);
  });
}

function writeHeaders(res: ServerResponse, headers: Record<string, string>): void {
  for (const name in headers) res.setHeader(name, headers[name] as string);
}

/** Serves a request to an API: CORS, route, access gate, then the route's integration. */
export async function serveApi(
  req: IncomingMessage,
  res: ServerResponse,
  api: LoadedApi,
  context: PipelineContext,
): Promise<void> {
  const requestId = randomUUID();
  const seen = context.observer?.begin(req, res, api.id, requestId);
  if (api.cors && answerPreflight(req, res, api.cors, requestId)) return;
  const url = req.url ?? "/";
  const { path, query } = splitUrl(url);
  const matched = api.routes.match(req.method ?? "GET", path);
  if (!matched) {
    sendMessage(res, 404, requestId);
    return;
  }
  const { route, pathParameters } = matched;
  if (seen) seen.routeKey = route.routeKey;
  if (api.cors) setCorsHeaders(req, res, api.cors);
  const access = await checkRouteAccess(
    api,
    route,
    {
      req,
      rawPath: path,
      rawQueryString: query,
      routeKey: route.routeKey,
      resource: route.resource,
      pathParameters,
      apiId: api.id,
      requestId,
      domainName: hostName(req.headers.host),
    },
    context,
  );
  if (!access.allowed) {
    if (seen) seen.throttled = access.throttled;
    if (res.headersSent) return;
    res.writeHead(access.status, {
      ...access.headers,
      "apigw-requestid": requestId,
      "content-length": Buffer.byteLength(access.body),
    });
    res.end(access.body);
    return;
  }
  writeHeaders(res, access.headers);
  res.setHeader("apigw-requestid", requestId);
  if (seen) {
    seen.apiKeyId = access.apiKeyId;
    seen.integrationStartedAt = performance.now();
  }
  const target = route.target;
  if ("function" in target) {
    await invokeRoute(req, res, context, {
      functionName: target.function,
      version: target.payloadFormatVersion,
      timeoutMs: target.timeoutMs,
      apiId: api.id,
      route,
      pathParameters,
      path,
      query,
      requestId,
      apiKeyId: access.apiKeyId,
      authorizer: access.authorizer,
    });
  } else if ("service" in target) {
    const targets = context.serviceTargets(target.service);
    if (!targets?.length) sendMessage(res, 503, requestId);
    else forward(req, res, targets, url, context.forward);
  } else {
    const base = new URL(target.url);
    let upstreamPath = base.pathname;
    const greedy = route.resource.endsWith("+}")
      ? pathParameters?.[route.resource.slice(route.resource.lastIndexOf("{") + 1, -2)]
      : undefined;
    if (greedy !== undefined) {
      upstreamPath = `${upstreamPath.replace(/\/$/, "")}/${greedy.split("/").map(encodeURIComponent).join("/")}`;
    }
    const search = [base.search.slice(1), query].filter(Boolean).join("&");
    forward(
      req,
      res,
      [{ url: base.origin }],
      search ? `${upstreamPath}?${search}` : upstreamPath,
      context.forward,
      { host: base.host },
    );
  }
}

/** Serves a request to a function URL (`<function>.fn.<domain>`): payload 2.0, route $default. */
export async function serveFunctionUrl(
  req: IncomingMessage,
  res: ServerResponse,
  functionName: string,
  authType: "NONE" | "SKIFF_TOKEN",
  context: PipelineContext,
): Promise<void> {
  const requestId = randomUUID();
  const seen = context.observer?.begin(req, res, functionUrlApiId(functionName), requestId);
  if (seen) seen.routeKey = "$default";
  if (authType === "SKIFF_TOKEN" && !(await hasInvokeToken(req, context.db))) {
    sendMessage(res, 403, requestId);
    return;
  }
  res.setHeader("x-amzn-requestid", requestId);
  if (seen) seen.integrationStartedAt = performance.now();
  const { path, query } = splitUrl(req.url ?? "/");
  await invokeRoute(req, res, context, {
    functionName,
    version: "2.0",
    timeoutMs: undefined,
    apiId: functionName,
    route: {
      id: "$default",
      routeKey: "$default",
      resource: "$default",
      target: { function: functionName, payloadFormatVersion: "2.0", timeoutMs: 0 },
      apiKeyRequired: false,
      throttle: undefined,
    },
    pathParameters: undefined,
    path,
    query,
    requestId,
    apiKeyId: undefined,
    authorizer: undefined,
  });
}

const bearer = /^Bearer\s+(\S{1,512})$/i;
const invokeScope: TokenScope = "deploy";

async function hasInvokeToken(req: IncomingMessage, db: Database): Promise<boolean> {
  const secret = bearer.exec(req.headers.authorization ?? "")?.[1];
  if (!secret) return false;
  const token = await findValidToken(db, secret, new Date());
  return token !== undefined && scopeAllows(token.scopes as TokenScope[], invokeScope);
}

interface Invocation {
  functionName: string;
  version: "2.0" | "1.0";
  /** The integration's timeout; undefined: the function's own (function URLs). */
  timeoutMs: number | undefined;
  apiId: string;
  route: LoadedRoute;
  pathParameters: Record<string, string> | undefined;
  path: string;
  query: string;
  requestId: string;
  apiKeyId: string | undefined;
  authorizer: AuthorizerOutput | undefined;
}

/** A Lambda proxy integration: the request as an event, the function's result as the response. */
async function invokeRoute(
  req: IncomingMessage,
  res: ServerResponse,
  context: PipelineContext,
  call: Invocation,
): Promise<void> {
  const { requestId } = call;
  const runtime = context.functions;
  const body = await readBody(req, maxEventBodyBytes);
  if (!body) {
    sendMessage(res, 413, requestId, true);
    return;
  }
  let fn: FunctionRuntimeConfig | undefined;
  try {
    fn = await runtime?.directory.get(call.functionName);
  } catch (error) {
    context.logger.warn({ err: error, function: call.functionName }, "function lookup failed");
  }
  if (!runtime || !fn) {
    sendMessage(res, call.timeoutMs === undefined ? 404 : 500, requestId);
    return;
  }
  const request: EventRequest = {
    req,
    rawPath: call.path,
    rawQueryString: call.query,
    body,
    routeKey: call.route.routeKey,
    resource: call.route.resource,
    pathParameters: call.pathParameters,
    apiId: call.apiId,
    accountId: fn.arn.split(":")[4] ?? "",
    requestId,
    domainName: hostName(req.headers.host),
    apiKeyId: call.apiKeyId,
    now: new Date(),
    authorizer: call.authorizer,
  };
  const event = call.version === "1.0" ? eventV1(request) : eventV2(request);
  const payload = Buffer.from(JSON.stringify(event));
  const timeoutMs = call.timeoutMs ?? fn.timeout * 1000 + 1_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((done) => {
    timer = setTimeout(() => done("timeout"), timeoutMs);
  });
  // Past the integration timeout the client has its 503; the invocation runs on to its end.
  const invocation = invokeFunction(runtime, fn, payload, { requestId });
  invocation.catch(() => {});
  try {
    const result = await Promise.race([invocation, timedOut]);
    if (result === "timeout") {
      sendMessage(res, 503, requestId);
      return;
    }
    if (result.functionError) {
      sendMessage(res, 500, requestId);
      return;
    }
    const response = proxyResponse(result.body, call.version);
    if (!response) {
      context.logger.warn(
        { function: fn.name, requestId },
        "a function's response is not a valid proxy response",
      );
      sendMessage(res, 500, requestId);
      return;
    }
    if (res.headersSent) return;
    for (const name in response.headers) res.setHeader(name, response.headers[name] as string);
    res.setHeader("content-length", response.body.length);
    res.writeHead(response.statusCode);
    res.end(response.body);
  } catch (error) {
    if (error instanceof LambdaError && error.status === 429) sendMessage(res, 429, requestId);
    else {
      context.logger.warn({ err: error, function: call.functionName }, "invocation failed");
      sendMessage(res, 500, requestId);
    }
  } finally {
    clearTimeout(timer);
  }
}
