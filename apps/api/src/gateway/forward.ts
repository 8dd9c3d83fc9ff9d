import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { Transform, type TransformCallback } from "node:stream";
import type { Dispatcher } from "undici";
import type { Logger } from "../lib/logger.js";
import { sendError } from "./errors.js";
import { endToEnd, upstreamRequestHeaders } from "./headers.js";
import type { PassiveHealth } from "./health.js";
import type { TargetPools } from "./pools.js";

export interface ForwardSettings {
  /** A target that has not accepted the connection by then is skipped for the next. */
  connectTimeoutMs: number;
  /** From the request's last byte sent to the response's headers; 504 past it. */
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

/** undici's codes of a connection that failed before the request was written. */
const connectFailures = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_SOCKET_CONNECT"]);

class BodyTooLarge extends Error {}

/** Counts a chunked body as it streams and fails it past `limit`. */
class BodyCounter extends Transform {
  private received = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.limit) done(new BodyTooLarge());
    else done(null, chunk);
  }
}

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
 * an HTTP server can call this; `options.host` replaces the Host header (an HTTP proxy
 * integration's server is named by its URL, not by the client's host name).
 */
export function forward(
  req: IncomingMessage,
  res: ServerResponse,
  targets: readonly { url: string }[],
  path: string,
  context: ForwardContext,
  options: { host?: string } = {},
): void {
  const { settings, health, pools } = context;
  const method = req.method ?? "GET";
  const declared = req.headers["content-length"];
  // The connection closes with it: the rest of the body is never read.
  const refuseTooLarge = () =>
    sendError(
      res,
      "PayloadTooLarge",
      `request bodies are limited to ${settings.maxBodyBytes} bytes`,
      true,
    );
  if (declared !== undefined && Number(declared) > settings.maxBodyBytes) {
    refuseTooLarge();
    return;
  }
  const chunked = declared === undefined && req.headers["transfer-encoding"] !== undefined;
  const hasBody = chunked || (declared !== undefined && declared !== "0");
  const headers = upstreamRequestHeaders(req.headers, {
    address: req.socket.remoteAddress,
    proto: "http",
  });
  // undici frames the body itself; node:http has already answered the client's 100-continue.
  delete headers["transfer-encoding"];
  delete headers.expect;
  if (options.host) headers.host = options.host;
  // A body with a Content-Length cannot run past it (node:http holds the client to it); a
  // chunked one is counted as it streams. Either is read only once a target holds a connection,
  // so a refused connection leaves it whole for the next target.
  let body: IncomingMessage | BodyCounter | null = null;
  if (chunked) {
    const counter = new BodyCounter(settings.maxBodyBytes);
    req.pipe(counter);
    body = counter;
  } else if (hasBody) {
    body = req;
  }

  let attempt = 0;
  let clientGone = false;
  let abort: ((reason: Error) => void) | undefined;
  res.once("close", () => {
    if (res.writableFinished) return;
    clientGone = true;
    abort?.(new Error("client went away"));
  });

  const next = (failure: "refused" | "timeout") => {
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
    let connected = false;
    let responded = false;
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(controller) {
        // Called once a connection is open and the request is about to be written.
        connected = true;
        abort = (reason) => controller.abort(reason);
        if (clientGone) controller.abort(new Error("client went away"));
      },
      onResponseStart(controller, statusCode, responseHeaders: IncomingHttpHeaders, message) {
        responded = true;
        health.succeeded(url);
        res.writeHead(statusCode, message, endToEnd(responseHeaders));
        res.on("drain", () => controller.resume());
      },
      onResponseData(controller, chunk) {
        if (!res.write(chunk)) controller.pause();
      },
      onResponseEnd() {
        res.end();
      },
      onResponseError(_controller, error: Error & { code?: string }) {
        if (clientGone) return;
        if (responded) {
          // Broken off mid-body: a truncated response must not look complete.
          res.destroy();
          return;
        }
        if (error instanceof BodyTooLarge || body?.errored instanceof BodyTooLarge) {
          refuseTooLarge();
          return;
        }
        if (error.code === "UND_ERR_HEADERS_TIMEOUT") {
          sendError(
            res,
            "GatewayTimeout",
            `the target did not answer within ${settings.responseTimeoutMs} ms`,
            hasBody,
          );
          return;
        }
        health.failed(url);
        context.logger.warn(
          { target: url, method, err: error.code ?? error.message, connected },
          "target connection failed",
        );
        if (!connected || connectFailures.has(error.code ?? "")) {
          next(error.code === "UND_ERR_CONNECT_TIMEOUT" ? "timeout" : "refused");
        } else if (idempotent.has(method) && !hasBody) {
          next("refused");
        } else {
          sendError(
            res,
            "BadGateway",
            "the target closed the connection before answering",
            hasBody,
          );
        }
      },
    };
    pools.get(url).dispatcher.dispatch(
      {
        origin: url,
        path,
        method: method as Dispatcher.HttpMethod,
        headers: headers as Record<string, string | string[]>,
        body,
        headersTimeout: settings.responseTimeoutMs,
      },
      handler,
    );
  };

  next("refused");
}
