import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";

/** The gateway's own error codes, each with its status. */
export const gatewayErrors = {
  NotFound: 404,
  PayloadTooLarge: 413,
  BadGateway: 502,
  ServiceUnavailable: 503,
  GatewayTimeout: 504,
} as const;
export type GatewayErrorCode = keyof typeof gatewayErrors;

/** The one error body, `{error:{code,message,requestId}}`, as the api answers its errors. */
export function errorBody(code: GatewayErrorCode, message: string, requestId?: string): string {
  return JSON.stringify({ error: { code, message, requestId: requestId ?? randomUUID() } });
}

/**
 * Answers an error unless the response has begun (then the connection is cut: a half-sent
 * response must not look complete). The client's `X-Request-Id`, if it sent a sane one, names it.
 */
export function sendError(
  res: ServerResponse,
  code: GatewayErrorCode,
  message: string,
  close = false,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const given = res.req?.headers["x-request-id"];
  const requestId = typeof given === "string" && /^[\w.:-]{1,128}$/.test(given) ? given : undefined;
  const body = errorBody(code, message, requestId);
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  };
  // A request whose body was not read whole leaves bytes on the connection: close it after.
  if (close) headers.connection = "close";
  res.writeHead(gatewayErrors[code], headers);
  res.end(body);
}
