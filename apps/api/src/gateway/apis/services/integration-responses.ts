import type { ServerResponse } from "node:http";

/** API Gateway's own answers, in its shape (`{"message": ...}`), not Skiff's error body. */
export const gatewayMessages = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  413: "Request Entity Too Large",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
} as const;

export function sendMessage(
  res: ServerResponse,
  status: keyof typeof gatewayMessages,
  requestId: string,
  close = false,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ message: gatewayMessages[status] });
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "apigw-requestid": requestId,
  };
  if (close) headers.connection = "close";
  res.writeHead(status, headers);
  res.end(body);
}
