import { type IncomingMessage, request, STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { errorBody, type GatewayErrorCode, gatewayErrors } from "./errors.js";
import type { ForwardContext } from "./forward.js";
import { upstreamRequestHeaders } from "./headers.js";

/** Answers an error on a raw socket (an upgrade request has no ServerResponse) and closes it. */
export function rejectUpgrade(socket: Duplex, code: GatewayErrorCode, message: string): void {
  if (!socket.writable) return;
  const status = gatewayErrors[code];
  const body = errorBody(code, message);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

function head(status: number, message: string | undefined, rawHeaders: string[]): string {
  let text = `HTTP/1.1 ${status} ${message || STATUS_CODES[status] || ""}\r\n`;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    text += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
  }
  return `${text}\r\n`;
}

/**
 * Proxies an HTTP/1.1 upgrade (a WebSocket) to the first of `targets` that accepts the
 * connection: the upgrade request is written to the target and, once it answers 101, the two
 * sockets are piped together. A target that answers anything else has its answer passed on.
 */
export function proxyUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  clientHead: Buffer,
  targets: readonly { url: string }[],
  path: string,
  context: ForwardContext,
): void {
  const { settings, health, pools } = context;
  const headers = upstreamRequestHeaders(req.headers, {
    address: req.socket.remoteAddress,
    proto: "http",
  });
  headers.connection = "upgrade";
  headers.upgrade = req.headers.upgrade;
  let attempt = 0;
  let closed = false;
  let current: ReturnType<typeof request> | undefined;
  socket.on("error", () => {
    closed = true;
    current?.destroy();
  });
  socket.once("close", () => {
    closed = true;
    current?.destroy();
  });

  const next = () => {
    if (closed) return;
    const target = targets[attempt++];
    if (!target) {
      rejectUpgrade(socket, "BadGateway", "no target of this service accepted the upgrade");
      return;
    }
    const pool = pools.get(target.url);
    // A connection of its own: after the 101 it belongs to this client alone.
    const upstream = request({
      agent: false,
      host: pool.hostname,
      port: pool.port,
      method: req.method,
      path,
      headers,
    });
    current = upstream;
    let connected = false;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    upstream.once("socket", (upstreamSocket: Socket) => {
      timer = setTimeout(
        () => upstreamSocket.destroy(new Error("connect timeout")),
        settings.connectTimeoutMs,
      );
      upstreamSocket.once("connect", () => {
        connected = true;
        clearTimeout(timer);
        timer = setTimeout(() => {
          if (settled) return;
          settled = true;
          upstream.destroy();
          rejectUpgrade(socket, "GatewayTimeout", "the target did not answer the upgrade in time");
        }, settings.responseTimeoutMs);
      });
    });
    upstream.once(
      "upgrade",
      (response: IncomingMessage, upstreamSocket: Socket, upstreamHead: Buffer) => {
        settled = true;
        clearTimeout(timer);
        health.succeeded(target.url);
        current = undefined;
        if (closed) {
          upstreamSocket.destroy();
          return;
        }
        socket.write(head(101, response.statusMessage, response.rawHeaders));
        if (upstreamHead.length > 0) socket.write(upstreamHead);
        if (clientHead.length > 0) upstreamSocket.write(clientHead);
        upstreamSocket.on("error", () => socket.destroy());
        socket.on("error", () => upstreamSocket.destroy());
        upstreamSocket.once("close", () => socket.destroy());
        socket.once("close", () => upstreamSocket.destroy());
        upstreamSocket.pipe(socket);
        socket.pipe(upstreamSocket);
      },
    );
    upstream.once("response", (response: IncomingMessage) => {
      settled = true;
      clearTimeout(timer);
      health.succeeded(target.url);
      const raw: string[] = [];
      for (let i = 0; i < response.rawHeaders.length; i += 2) {
        const name = (response.rawHeaders[i] as string).toLowerCase();
        if (name === "connection" || name === "transfer-encoding" || name === "keep-alive")
          continue;
        raw.push(response.rawHeaders[i] as string, response.rawHeaders[i + 1] as string);
      }
      raw.push("connection", "close");
      socket.write(head(response.statusCode ?? 502, response.statusMessage, raw));
      response.pipe(socket);
    });
    upstream.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (settled || closed) return;
      settled = true;
      health.failed(target.url);
      context.logger.warn(
        { target: target.url, err: error.code ?? error.message, connected },
        "target upgrade connection failed",
      );
      // An upgrade request has no body: a connection that failed before any answer is safe to
      // try on the next target.
      next();
    });
    upstream.end();
  };
  next();
}
