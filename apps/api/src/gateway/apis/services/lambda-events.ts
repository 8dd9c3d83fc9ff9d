import type { IncomingMessage } from "node:http";
import type { AuthorizerOutput } from "../../authorizers/services/authorize.js";

/** What the gateway knows of a request when it builds a Lambda proxy event. */
export interface EventRequest {
  req: IncomingMessage;
  /** The path as the client sent it (no query). */
  rawPath: string;
  /** After "?", as sent; "" without. */
  rawQueryString: string;
  body: Buffer;
  routeKey: string;
  /** The route key's path, or "$default" (payload 1.0's `resource`). */
  resource: string;
  pathParameters: Record<string, string> | undefined;
  apiId: string;
  accountId: string;
  requestId: string;
  /** The host name without its port. */
  domainName: string;
  apiKeyId: string | undefined;
  now: Date;
  /** What the route's authorizer found (JWT claims or a function's context). */
  authorizer?: AuthorizerOutput | undefined;
}

const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const two = (n: number) => String(n).padStart(2, "0");

/** API Gateway's `requestContext.time`: "12/Mar/2020:19:03:58 +0000". */
export function requestTime(date: Date): string {
  return `${two(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`;
}

/**
 * Text bodies stay text in the event; anything else is base64 (`isBase64Encoded`), as API
 * Gateway does. No content type: text if the bytes are valid UTF-8.
 */
export function isTextBody(contentType: string | undefined, body: Buffer): boolean {
  if (!contentType) return isUtf8(body);
  const type = (contentType.split(";")[0] ?? "").trim().toLowerCase();
  return (
    type.startsWith("text/") ||
    type === "application/json" ||
    type.endsWith("+json") ||
    type === "application/xml" ||
    type.endsWith("+xml") ||
    type === "application/x-www-form-urlencoded" ||
    type === "application/javascript" ||
    type === "application/graphql"
  );
}

function isUtf8(body: Buffer): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(body);
    return true;
  } catch {
    return false;
  }
}

function encodedBody(request: EventRequest): {
  body: string | undefined;
  isBase64Encoded: boolean;
} {
  if (request.body.length === 0) return { body: undefined, isBase64Encoded: false };
  if (isTextBody(request.req.headers["content-type"], request.body))
    return { body: request.body.toString("utf8"), isBase64Encoded: false };
  return { body: request.body.toString("base64"), isBase64Encoded: true };
}

/**
 * The X-Forwarded-* headers API Gateway adds to an event's headers: the client's address
 * appended to any For it sent, the port it connected to, and the protocol.
 */
function forwardedHeaders(req: IncomingMessage): Record<string, string> {
  const prior = req.headers["x-forwarded-for"];
  const ip = sourceIp(req);
  return {
    "x-forwarded-for": prior ? `${prior}, ${ip}` : ip,
    "x-forwarded-port": String(req.socket.localPort ?? ""),
    "x-forwarded-proto":
      typeof req.headers["x-forwarded-proto"] === "string"
        ? req.headers["x-forwarded-proto"]
        : "http",
  };
}

function sourceIp(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? "";
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

/** Query parameters, each with its values in order (decoded). */
function queryValues(raw: string): Map<string, string[]> | undefined {
  if (!raw) return undefined;
  const values = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(raw)) {
    const list = values.get(name);
    if (list) list.push(value);
    else values.set(name, [value]);
  }
  return values.size > 0 ? values : undefined;
}

/** Payload format 2.0 (HTTP APIs' default). */
export function eventV2(request: EventRequest): Record<string, unknown> {
  const { req } = request;
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  const distinct = req.headersDistinct;
  for (const name in distinct) {
    const values = distinct[name] as string[];
    if (name === "cookie") {
      // Cookies leave the headers for `cookies`, one entry per cookie.
      cookies = values.flatMap((value) => value.split(/;\s*/)).filter(Boolean);
      continue;
    }
    headers[name] = values.join(",");
  }
  Object.assign(headers, forwardedHeaders(req));
  const query = queryValues(request.rawQueryString);
  let queryStringParameters: Record<string, string> | undefined;
  if (query) {
    queryStringParameters = {};
    for (const [name, values] of query) queryStringParameters[name] = values.join(",");
  }
  const domainPrefix = request.domainName.split(".")[0] ?? request.domainName;
  return {
    version: "2.0",
    routeKey: request.routeKey,
    rawPath: request.rawPath,
    rawQueryString: request.rawQueryString,
    ...(cookies?.length ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext: {
      accountId: request.accountId,
      apiId: request.apiId,
      ...(request.authorizer ? { authorizer: request.authorizer } : {}),
      domainName: request.domainName,
      domainPrefix,
      http: {
        method: req.method ?? "GET",
        path: request.rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: sourceIp(req),
        userAgent: req.headers["user-agent"] ?? "",
      },
      requestId: request.requestId,
      routeKey: request.routeKey,
      stage: "$default",
      time: requestTime(request.now),
      timeEpoch: request.now.getTime(),
    },
    ...(request.pathParameters ? { pathParameters: request.pathParameters } : {}),
    ...encodedBody(request),
  };
}

/** Payload format 1.0 (REST APIs' shape, kept by HTTP APIs for older handlers). */
export function eventV1(request: EventRequest): Record<string, unknown> {
  const { req } = request;
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const distinct = req.headersDistinct;
  for (const name in distinct) {
    const values = distinct[name] as string[];
    headers[name] = values.at(-1) ?? "";
    multiValueHeaders[name] = values;
  }
  for (const [name, value] of Object.entries(forwardedHeaders(req))) {
    headers[name] = value;
    multiValueHeaders[name] = [value];
  }
  const query = queryValues(request.rawQueryString);
  let queryStringParameters: Record<string, string> | null = null;
  let multiValueQueryStringParameters: Record<string, string[]> | null = null;
  if (query) {
    queryStringParameters = {};
    multiValueQueryStringParameters = {};
    for (const [name, values] of query) {
      queryStringParameters[name] = values.at(-1) ?? "";
      multiValueQueryStringParameters[name] = values;
    }
  }
  const method = req.method ?? "GET";
  const encoded = encodedBody(request);
  return {
    version: "1.0",
    resource: request.resource,
    path: request.rawPath,
    httpMethod: method,
    headers,
    multiValueHeaders,
    queryStringParameters,
    multiValueQueryStringParameters,
    requestContext: {
      accountId: request.accountId,
      apiId: request.apiId,
      // 1.0 has the claims (and scopes) or the function's context one level up.
      ...(request.authorizer
        ? {
            authorizer:
              "jwt" in request.authorizer ? request.authorizer.jwt : request.authorizer.lambda,
          }
        : {}),
      domainName: request.domainName,
      domainPrefix: request.domainName.split(".")[0] ?? request.domainName,
      extendedRequestId: request.requestId,
      httpMethod: method,
      identity: {
        sourceIp: sourceIp(req),
        userAgent: req.headers["user-agent"] ?? null,
        apiKey: null,
        apiKeyId: request.apiKeyId ?? null,
        accessKey: null,
        accountId: null,
        caller: null,
        user: null,
        userArn: null,
      },
      path: request.rawPath,
      protocol: `HTTP/${req.httpVersion}`,
      requestId: request.requestId,
      requestTime: requestTime(request.now),
      requestTimeEpoch: request.now.getTime(),
      resourceId: request.routeKey,
      resourcePath: request.resource,
      stage: "$default",
    },
    pathParameters: request.pathParameters ?? null,
    stageVariables: null,
    body: encoded.body ?? null,
    isBase64Encoded: encoded.isBase64Encoded,
  };
}

/** The HTTP response a function's result becomes. */
export interface ProxyResponse {
  statusCode: number;
  /** Values as sent; set-cookie among them as an array. */
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/** Headers a function may not set: the gateway frames the response itself. */
const framing = new Set(["content-length", "transfer-encoding", "connection", "keep-alive"]);

function addHeader(out: Record<string, string | string[]>, name: string, value: unknown): void {
  if (value === null || value === undefined) return;
  const key = name.toLowerCase();
  if (framing.has(key) || !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) return;
  const text = String(value);
  // A value with a line break would split the response: left out.
  if (/[\r\n]/.test(text)) return;
  const prior = out[key];
  if (prior === undefined) out[key] = key === "set-cookie" ? [text] : text;
  else if (Array.isArray(prior)) prior.push(text);
  // Several values: one header line each, as API Gateway sends multiValueHeaders.
  else out[key] = [prior, text];
}

/**
 * A function's result as an HTTP response, as API Gateway reads it: an object with statusCode,
 * headers, multiValueHeaders, cookies (2.0), body and isBase64Encoded; with 2.0, any other JSON
 * (a string, an object without statusCode) is a 200 application/json whose body is that JSON
 * (a string: its text). Undefined for a malformed result (API Gateway answers 500).
 */
export function proxyResponse(result: Buffer, version: "2.0" | "1.0"): ProxyResponse | undefined {
  let value: unknown;
  try {
    value = JSON.parse(result.toString("utf8"));
  } catch {
    return undefined;
  }
  const structured =
    typeof value === "object" && value !== null && !Array.isArray(value) && "statusCode" in value;
  if (!structured) {
    if (version === "1.0") return undefined;
    return {
      statusCode: 200,
      headers: { "content-type": "application/json" },
      body: Buffer.from(typeof value === "string" ? value : result.toString("utf8")),
    };
  }
  const shape = value as Record<string, unknown>;
  const statusCode = Number(shape.statusCode);
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) return undefined;
  const headers: Record<string, string | string[]> = {};
  if (shape.headers && typeof shape.headers === "object")
    for (const [name, v] of Object.entries(shape.headers)) addHeader(headers, name, v);
  if (shape.multiValueHeaders && typeof shape.multiValueHeaders === "object")
    for (const [name, values] of Object.entries(shape.multiValueHeaders))
      if (Array.isArray(values)) {
        // multiValueHeaders replace the header of the same name.
        delete headers[name.toLowerCase()];
        for (const v of values) addHeader(headers, name, v);
      }
  if (version === "2.0" && Array.isArray(shape.cookies))
    for (const cookie of shape.cookies) addHeader(headers, "set-cookie", cookie);
  const raw = shape.body;
  const text =
    raw === undefined || raw === null ? "" : typeof raw === "string" ? raw : JSON.stringify(raw);
  const body = shape.isBase64Encoded === true ? Buffer.from(text, "base64") : Buffer.from(text);
  return { statusCode, headers, body };
}
