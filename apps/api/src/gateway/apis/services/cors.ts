import type { IncomingMessage, ServerResponse } from "node:http";
import type { CorsConfig } from "../schema/apis.js";

/** The `Access-Control-Allow-Origin` for `origin`, or undefined when it is not allowed. */
function allowedOrigin(cors: CorsConfig, origin: string): string | undefined {
  if (cors.allowOrigins.includes(origin)) return origin;
  if (cors.allowOrigins.includes("*")) return cors.allowCredentials ? origin : "*";
  return undefined;
}

/**
 * Answers a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) of an API with
 * CORS configured, as API Gateway does, whatever its routes; false when `req` is not one.
 */
export function answerPreflight(
  req: IncomingMessage,
  res: ServerResponse,
  cors: CorsConfig,
  requestId: string,
): boolean {
  const origin = req.headers.origin;
  if (req.method !== "OPTIONS" || !origin || !req.headers["access-control-request-method"])
    return false;
  const headers: Record<string, string> = { "apigw-requestid": requestId, vary: "Origin" };
  const allowed = allowedOrigin(cors, origin);
  if (allowed) {
    headers["access-control-allow-origin"] = allowed;
    if (cors.allowMethods.length)
      headers["access-control-allow-methods"] = cors.allowMethods.join(",");
    if (cors.allowHeaders.length)
      headers["access-control-allow-headers"] = cors.allowHeaders.join(",");
    if (cors.maxAge !== null) headers["access-control-max-age"] = String(cors.maxAge);
    if (cors.allowCredentials) headers["access-control-allow-credentials"] = "true";
  }
  res.writeHead(204, headers);
  res.end();
  return true;
}

/** CORS headers of an actual (not preflight) request from an allowed origin. */
export function setCorsHeaders(req: IncomingMessage, res: ServerResponse, cors: CorsConfig): void {
  const origin = req.headers.origin;
  if (!origin) return;
  const allowed = allowedOrigin(cors, origin);
  if (!allowed) return;
  res.setHeader("access-control-allow-origin", allowed);
  res.setHeader("vary", "Origin");
  if (cors.exposeHeaders.length)
    res.setHeader("access-control-expose-headers", cors.exposeHeaders.join(","));
  if (cors.allowCredentials) res.setHeader("access-control-allow-credentials", "true");
}
