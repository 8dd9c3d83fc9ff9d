import { type ClientRequest, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { pipeline } from "node:stream";
import type { Logger } from "../lib/logger.js";
import { sendError } from "./errors.js";
import { endToEnd, upstreamRequestHeaders } from "./headers.js";
import type { PassiveHealth } from "./health.js";
import type { TargetPools } from "./pools.js";

export interface ForwardSettings {
  /** A target that has not accepted the connection by then is skipped for the next. */
  connectTimeoutMs: number;
  /** From the request sent to the response's headers; 504 past it. */
  responseTimeoutMs: number;
  /** Request bodies past this answer 413 (Content-Length up front, or counted as they stream). */
  maxBodyBytes: number;
}

export interface ForwardContext {
  pools: TargetPools;
  health: PassiveHealth;
  settings: ForwardSettings;
  logger: Logger;
}

/** Methods a target may receive twice: a retry after a reset cannot do harm twice. */
const idempotent = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/**
 * Forwards one request to the first of `targets` that takes it, streaming both ways (no body is
 * held in memory; backpressure on either side pauses the other) and passing the bytes through
 * untouched (a gzip body stays gzip, its Content-Length as the target sent it).
 *
 * The next target is tried only when it is safe: the connection failed before any byte of the
 * request was written (refused, unreachable, connect timeout), or a request with an idempotent
 * method and no body lost its connection before an answer. A POST that reached a target is
 * never sent to another: 502. A client that goes away aborts the upstream request.
 *
 * `path` is the path and query the target receives. Any route target that proxies to a URL of
 * an HTTP server can call this.
 */
export function forward(
  req: IncomingMessage,
  res: ServerResponse,
  targets: readonly { url: string }[],
  path: string,
  context: ForwardContext,
): void {
  const { settings, health, pools } = context;
  const method = req.method ?? "GET";
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > settings.maxBodyBytes) {
    sendError(
      res,
      "PayloadTooLarge",
      `request bodies are limited to ${settings.maxBodyBytes} bytes`,
      true,
    );
    return;
  }
  const hasBody =
    declared !== undefined ? declared !== "0" : req.headers["transfer-encoding"] !== undefined;
  const headers = upstreamRequestHeaders(req.headers, {
    address: req.socket.remoteAddress,
    proto: "http",
  });
  // node:http has already answered the client's 100-continue; the target need not again.
  delete headers.expect;

  let current: ClientRequest | undefined;
  let clientGone = false;
  let bodyStarted = false;
  let received = 0;
  let attempt = 0;
  let timedOut = false;

  res.once("close", () => {
    if (res.writableFinished) return;
    clientGone = true;
    current?.destroy();
  });
  if (hasBody) {
    req.once("error", () => current?.destroy());
  }

  const streamBody = (upstream: ClientRequest) => {
    bodyStarted = true;
    req.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received > settings.maxBodyBytes) {
        req.pause();
        req.removeAllListeners("data");
        upstream.destroy();
        sendError(
          res,
          "PayloadTooLarge",
          `request bodies are limited to ${settings.maxBodyBytes} bytes`,
          true,
        );
        return;
      }
      if (!upstream.write(chunk)) req.pause();
    });
    upstream.on("drain", () => req.resume());
    req.once("end", () => upstream.end());
  };

  const next = (failure: "refused" | "timeout" | "reset") => {
    if (clientGone) return;
    const target = targets[attempt++];
    if (!target) {
      if (failure === "timeout") {
        sendError(
          res,
          "GatewayTimeout",
          "no target of this service accepted the connection in time",
        );
      } else {
        sendError(res, "BadGateway", "no target of this service answered");
      }
      return;
    }
    send(target.url);
  };

  const send = (url: string) => {
    const pool = pools.get(url);
    const upstream = request({
      agent: pool.agent,
      host: pool.hostname,
      port: pool.port,
      method,
      path,
      headers,
    });
    current = upstream;
    let connected = false;
    let settled = false;
    let connectTimer: NodeJS.Timeout | undefined;
    let responseTimer: NodeJS.Timeout | undefined;

    // The response timeout runs from the request's last byte written: a long upload is not a
    // slow answer.
    let written = false;
    const armResponseTimer = () => {
      responseTimer = setTimeout(() => {
        if (settled) return;
        settled = true;
        timedOut = true;
        upstream.destroy();
        sendError(
          res,
          "GatewayTimeout",
          `the target did not answer within ${settings.responseTimeoutMs} ms`,
          hasBody,
        );
      }, settings.responseTimeoutMs);
    };
    upstream.once("finish", () => {
      written = true;
      if (connected) armResponseTimer();
    });

    const onConnected = () => {
      connected = true;
      if (connectTimer) clearTimeout(connectTimer);
      if (written) armResponseTimer();
      // The body is read from the client only once a target holds a connection, so a refused
      // connection leaves it unread for the next target.
      if (hasBody && !bodyStarted) streamBody(upstream);
    };

    upstream.once("socket", (socket: Socket) => {
      if (!socket.connecting) {
        onConnected();
        return;
      }
      connectTimer = setTimeout(() => {
        if (!connected) socket.destroy(new Error("connect timeout"));
      }, settings.connectTimeoutMs);
      socket.once("connect", onConnected);
    });
    if (!hasBody) upstream.end();

    upstream.once("response", (response: IncomingMessage) => {
      settled = true;
      if (responseTimer) clearTimeout(responseTimer);
      health.succeeded(url);
      if (clientGone) {
        response.destroy();
        return;
      }
      res.writeHead(response.statusCode ?? 502, response.statusMessage, endToEnd(response.headers));
      pipeline(response, res, () => {});
    });

    upstream.on("error", (error: NodeJS.ErrnoException) => {
      if (connectTimer) clearTimeout(connectTimer);
      if (responseTimer) clearTimeout(responseTimer);
      if (settled || clientGone || timedOut) return;
      settled = true;
      health.failed(url);
      const failure = !connected && error.message === "connect timeout" ? "timeout" : "refused";
      context.logger.warn(
        { target: url, method, err: error.code ?? error.message, connected },
        "target connection failed",
      );
      if (!connected) {
        next(failure);
      } else if (idempotent.has(method) && !bodyStarted) {
        next("reset");
      } else {
        sendError(res, "BadGateway", "the target closed the connection before answering", hasBody);
      }
    });
  };

  next("refused");
}
