import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  functionLimits,
  invokeHeaders,
  invokeResultHeaders,
  startInstanceSchema,
} from "@skiff/shared";
import { controlKeyMatches } from "./control-key.js";
import {
  InstanceBusyError,
  InstanceExistsError,
  InstanceGoneError,
  type InstanceManager,
  InstanceStartError,
} from "./instances.js";

// The agent's control port for function instances: the api -> agent protocol of
// packages/shared/src/schemas/function-instances.ts over plain node:http (the invoke path is
// hot). Every request carries the control key; answers never hold a stack trace.

/** Largest invoke body: Lambda's synchronous payload and a little for framing. */
const maxInvokeBytes = functionLimits.syncPayloadBytes + 64 * 1024;
const maxStartBytes = 1024 * 1024;

export interface ControlServerOptions {
  instances: InstanceManager;
  /** The control key of this node (functionsControlKey of its credential's hash). */
  controlKey: () => string | undefined;
  port: number;
  host?: string | undefined;
  onError?: (error: unknown, context: Record<string, unknown>) => void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class ControlServer {
  private readonly server: Server;

  constructor(private readonly opts: ControlServerOptions) {
    this.server = createServer((request, response) => {
      void this.handle(request, response);
    });
    this.server.keepAliveTimeout = 65_000;
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.opts.port, this.opts.host ?? "0.0.0.0", () => {
        this.server.off("error", reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = (request.headers["x-request-id"] as string | undefined) ?? randomUUID();
    try {
      const key = this.opts.controlKey();
      if (!key || !controlKeyMatches(request.headers.authorization, key))
        throw new HttpError(401, "Unauthorized", "missing or wrong control key");
      const path = (request.url ?? "/").split("?")[0] ?? "/";
      const match = /^\/skiff\/v1\/instances(?:\/([^/]+))?(\/invoke)?$/.exec(path);
      if (!match) throw new HttpError(404, "NotFound", `no route ${request.method} ${path}`);
      const id = match[1] ? decodeURIComponent(match[1]) : undefined;
      const method = request.method ?? "GET";
      if (!id && method === "GET")
        return json(response, 200, { instances: this.opts.instances.list() });
      if (!id && method === "POST") return await this.start(request, response);
      if (id && match[2] && method === "POST") return await this.invoke(id, request, response);
      if (id && !match[2] && method === "DELETE") {
        await this.opts.instances.stop(id);
        response.writeHead(204).end();
        return;
      }
      throw new HttpError(405, "MethodNotAllowed", `${method} is not allowed on ${path}`);
    } catch (error) {
      const known = toHttpError(error);
      if (!known) this.opts.onError?.(error, { requestId, url: request.url });
      const { status, code, message } = known ?? {
        status: 500,
        code: "InternalError",
        message: "the agent failed to handle the request",
      };
      if (!response.headersSent) json(response, status, { error: { code, message, requestId } });
      else response.destroy();
      // The rest of a refused body is not read: close rather than drain it.
      if (!request.complete) request.destroy();
    }
  }

  private async start(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const text = (await readBody(request, maxStartBytes)).toString("utf8");
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new HttpError(400, "ValidationError", "the body is not JSON");
    }
    const parsed = startInstanceSchema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.map(
        (issue) => `${issue.path.join(".")}: ${issue.message}`,
      );
      throw new HttpError(400, "ValidationError", issues.join("; "));
    }
    const info = await this.opts.instances.start(parsed.data);
    json(response, 201, info);
  }

  private async invoke(
    id: string,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    const header = (name: string) => {
      const value = request.headers[name];
      return typeof value === "string" && value ? value : undefined;
    };
    const requestId = header(invokeHeaders.requestId);
    const deadlineMs = Number(header(invokeHeaders.deadlineMs));
    if (!requestId || requestId.length > 128)
      throw new HttpError(400, "ValidationError", `${invokeHeaders.requestId} is required`);
    if (!Number.isFinite(deadlineMs) || deadlineMs <= 0)
      throw new HttpError(400, "ValidationError", `${invokeHeaders.deadlineMs} must be epoch ms`);
    const payload = await readBody(request, maxInvokeBytes);
    const result = await this.opts.instances.invoke(id, {
      requestId,
      payload,
      deadlineMs,
      traceId: header(invokeHeaders.traceId),
      clientContext: header(invokeHeaders.clientContext),
      cognitoIdentity: header(invokeHeaders.cognitoIdentity),
      logTail: header(invokeHeaders.logTail) === "1",
    });
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "content-length": String(result.body.length),
      [invokeResultHeaders.outcome]: result.outcome,
      [invokeResultHeaders.durationMs]: result.durationMs.toFixed(3),
      [invokeResultHeaders.billedDurationMs]: String(result.billedDurationMs),
      [invokeResultHeaders.maxMemoryUsedMb]: String(result.maxMemoryUsedMb),
    };
    if (result.initDurationMs !== undefined)
      headers[invokeResultHeaders.initDurationMs] = result.initDurationMs.toFixed(3);
    if (result.logResult !== undefined) headers[invokeResultHeaders.logResult] = result.logResult;
    if (result.retired) headers[invokeResultHeaders.retired] = "1";
    response.writeHead(200, headers).end(result.body);
  }
}

function toHttpError(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof InstanceGoneError)
    return new HttpError(404, "InstanceNotFound", error.message);
  if (error instanceof InstanceBusyError) return new HttpError(409, "InstanceBusy", error.message);
  if (error instanceof InstanceExistsError)
    return new HttpError(409, "InstanceExists", error.message);
  if (error instanceof InstanceStartError)
    return new HttpError(503, "InstanceStartFailed", error.message);
  return undefined;
}

function json(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response
    .writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
    })
    .end(text);
}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers["content-length"]);
  if (declared > limit)
    return Promise.reject(
      new HttpError(413, "PayloadTooLarge", `the body is larger than ${limit} bytes`),
    );
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, "PayloadTooLarge", `the body is larger than ${limit} bytes`));
        request.pause();
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}
