import type { IncomingMessage } from "node:http";

/** What every event of one connection shares. */
export interface ConnectionFacts {
  apiId: string;
  connectionId: string;
  connectedAt: number;
  domainName: string;
  sourceIp: string;
  userAgent: string | null;
  /** The `$connect` authorizer's context (`requestContext.authorizer`), if one let it in. */
  authorizer?: Record<string, unknown> | undefined;
  /** The API key the client connected with, when a usage plan of the API has it. */
  apiKey?: string | undefined;
  apiKeyId?: string | undefined;
}

/** API Gateway's `requestTime`: `09/Apr/2015:12:34:56 +0000`. */
const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
function requestTime(at: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(at.getUTCDate())}/${months[at.getUTCMonth()]}/${at.getUTCFullYear()}:${two(at.getUTCHours())}:${two(at.getUTCMinutes())}:${two(at.getUTCSeconds())} +0000`;
}

function requestContext(
  facts: ConnectionFacts,
  routeKey: string,
  eventType: "CONNECT" | "MESSAGE" | "DISCONNECT",
  requestId: string,
  now: Date,
) {
  return {
    routeKey,
    eventType,
    extendedRequestId: requestId,
    requestTime: requestTime(now),
    messageDirection: "IN",
    // Skiff's APIs have no stages: the one stage is API Gateway's `$default`.
    stage: "$default",
    connectedAt: facts.connectedAt,
    requestTimeEpoch: now.getTime(),
    identity: {
      sourceIp: facts.sourceIp,
      userAgent: facts.userAgent,
      ...(facts.apiKeyId ? { apiKey: facts.apiKey ?? null, apiKeyId: facts.apiKeyId } : {}),
    },
    requestId,
    domainName: facts.domainName,
    connectionId: facts.connectionId,
    apiId: facts.apiId,
    ...(facts.authorizer ? { authorizer: facts.authorizer } : {}),
  };
}

/** The upgrade request's headers and query, single- and multi-valued, as API Gateway gives them. */
function requestParts(req: IncomingMessage) {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    const value = req.rawHeaders[i + 1] as string;
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
    const values = multiValueHeaders[name] ?? [];
    values.push(value);
    multiValueHeaders[name] = values;
  }
  const url = new URL(req.url ?? "/", "http://localhost");
  let queryStringParameters: Record<string, string> | undefined;
  let multiValueQueryStringParameters: Record<string, string[]> | undefined;
  for (const [name, value] of url.searchParams) {
    queryStringParameters ??= {};
    multiValueQueryStringParameters ??= {};
    queryStringParameters[name] = value;
    const values = multiValueQueryStringParameters[name] ?? [];
    values.push(value);
    multiValueQueryStringParameters[name] = values;
  }
  return { headers, multiValueHeaders, queryStringParameters, multiValueQueryStringParameters };
}

/** The `$connect` event: the upgrade request's headers and query string. */
export function connectEvent(
  req: IncomingMessage,
  facts: ConnectionFacts,
  requestId: string,
  now = new Date(),
) {
  return {
    ...requestParts(req),
    requestContext: requestContext(facts, "$connect", "CONNECT", requestId, now),
    isBase64Encoded: false,
  };
}

/** A message's event: `body` is the frame's text, or base64 of a binary frame. */
export function messageEvent(
  facts: ConnectionFacts,
  routeKey: string,
  body: Buffer,
  isBinary: boolean,
  requestId: string,
  now = new Date(),
) {
  return {
    requestContext: {
      ...requestContext(facts, routeKey, "MESSAGE", requestId, now),
      messageId: requestId,
    },
    body: isBinary ? body.toString("base64") : body.toString("utf8"),
    isBase64Encoded: isBinary,
  };
}

/** The `$disconnect` event, with the close code and reason. */
export function disconnectEvent(
  req: IncomingMessage,
  facts: ConnectionFacts,
  statusCode: number,
  reason: string,
  requestId: string,
  now = new Date(),
) {
  const { headers, multiValueHeaders } = requestParts(req);
  return {
    headers,
    multiValueHeaders,
    requestContext: {
      ...requestContext(facts, "$disconnect", "DISCONNECT", requestId, now),
      disconnectStatusCode: statusCode,
      disconnectReason: reason,
    },
    isBase64Encoded: false,
  };
}

/** The route key a message selects by `$request.body.<path>`; undefined when it selects none. */
export function selectRouteKey(expression: string, body: Buffer, isBinary: boolean) {
  if (isBinary) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
  for (const field of expression.split(".").slice(2)) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[field];
  }
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}
