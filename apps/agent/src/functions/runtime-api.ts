// The Lambda Runtime API (2018-06-01) as AWS documents it, served by the agent to the function
// instances on its node. Plain node:http: every invocation passes through it twice (the event
// out on /next, the answer back), so nothing here may cost more than it must.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { functionLimits } from "@skiff/shared";
import type { RuntimeAnswer, RuntimeEvent, RuntimeEvents } from "./runtime-contract.js";

export interface RuntimeApiOptions {
  /** Which instance a connection's source address belongs to; undefined: refused with 403. */
  identify(remoteAddress: string): string | undefined;
  /** 0: any free port. */
  port: number;
  host?: string;
}

const prefix = "/2018-06-01/runtime";
const nextPath = `${prefix}/invocation/next`;
const initErrorPath = `${prefix}/init/error`;
const answerPath = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/;
/** An error's body may be a little larger than a response: it is never passed on whole. */
const maxErrorBytes = 1024 * 1024;

interface Pending {
  resolve(answer: RuntimeAnswer): void;
  reject(error: Error): void;
}

/** One instance's side of the API: its held /next, the event waiting for it, the one in flight. */
interface Slot {
  ready: Promise<void>;
  markReady(): void;
  /** The runtime's /next, held until an event comes. */
  held: ServerResponse | undefined;
  /** An event given before the runtime asked for it. */
  queued: RuntimeEvent | undefined;
  /** The invocation handed out, by request id, until the runtime answers it. */
  inFlight: Map<string, Pending>;
  initError: RuntimeAnswer | undefined;
}

/**
 * The Runtime API server of one node. Instances are told apart by the source address of their
 * connections (each sits alone on its own network, without NET_RAW): a runtime can only ever
 * see and answer its own invocations.
 */
export class RuntimeApi implements RuntimeEvents {
  private readonly server: Server;
  private readonly slots = new Map<string, Slot>();

  constructor(private readonly opts: RuntimeApiOptions) {
    this.server = createServer((request, response) => this.handle(request, response));
    // /next is a long poll that may wait for as long as an instance is idle.
    this.server.requestTimeout = 0;
    this.server.headersTimeout = 60_000;
    this.server.keepAliveTimeout = 15 * 60_000;
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
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  ready(instanceId: string): Promise<void> {
    return this.slot(instanceId).ready;
  }

  invoke(instanceId: string, event: RuntimeEvent): Promise<RuntimeAnswer> {
    const slot = this.slot(instanceId);
    if (slot.initError) return Promise.resolve(slot.initError);
    return new Promise((resolve, reject) => {
      slot.inFlight.set(event.requestId, { resolve, reject });
      if (slot.held) {
        const held = slot.held;
        slot.held = undefined;
        sendEvent(held, event);
      } else slot.queued = event;
    });
  }

  forget(instanceId: string, reason: Error): void {
    const slot = this.slots.get(instanceId);
    if (!slot) return;
    this.slots.delete(instanceId);
    slot.held?.destroy();
    for (const pending of slot.inFlight.values()) pending.reject(reason);
  }

  private slot(instanceId: string): Slot {
    let slot = this.slots.get(instanceId);
    if (!slot) {
      let markReady = () => {};
      const ready = new Promise<void>((resolve) => {
        markReady = resolve;
      });
      slot = {
        ready,
        markReady,
        held: undefined,
        queued: undefined,
        inFlight: new Map(),
        initError: undefined,
      };
      this.slots.set(instanceId, slot);
    }
    return slot;
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const instanceId = this.opts.identify(request.socket.remoteAddress ?? "");
    if (!instanceId) return void refuse(response, 403, "AccessDenied", "not a function instance");
    const slot = this.slot(instanceId);
    const path = request.url ?? "";
    if (path === nextPath) {
      if (request.method !== "GET") return void refuse(response, 405, "MethodNotAllowed", path);
      return void this.next(slot, response);
    }
    if (request.method !== "POST") return void refuse(response, 404, "NotFound", path);
    if (path === initErrorPath) return void this.initError(slot, request, response);
    const match = answerPath.exec(path);
    if (!match) return void refuse(response, 404, "NotFound", `no route ${path}`);
    const requestId = decodeURIComponent(match[1] as string);
    const pending = slot.inFlight.get(requestId);
    if (!pending)
      return void refuse(response, 400, "InvalidRequestID", `unknown request id ${requestId}`);
    const isError = match[2] === "error";
    const limit = isError ? maxErrorBytes : functionLimits.syncPayloadBytes;
    void readBounded(request, limit).then(
      (body) => {
        // Answered once: a second answer for the same id finds nothing in flight.
        slot.inFlight.delete(requestId);
        if (!body) {
          pending.resolve({ kind: "too-large" });
          return void refuse(
            response,
            413,
            "RequestEntityTooLarge",
            `Exceeded maximum allowed payload size (${limit} bytes).`,
          );
        }
        pending.resolve(
          isError
            ? { kind: "error", body, errorType: errorTypeOf(request, body) }
            : { kind: "response", body },
        );
        accepted(response);
      },
      () => response.destroy(),
    );
  }

  private next(slot: Slot, response: ServerResponse): void {
    slot.markReady();
    // A runtime that asks again replaces its earlier poll (its connection was lost).
    slot.held?.destroy();
    slot.held = undefined;
    const event = slot.queued;
    if (event) {
      slot.queued = undefined;
      sendEvent(response, event);
    } else {
      slot.held = response;
      response.once("close", () => {
        if (slot.held === response) slot.held = undefined;
      });
    }
  }

  private initError(slot: Slot, request: IncomingMessage, response: ServerResponse): void {
    void readBounded(request, maxErrorBytes).then(
      (body) => {
        const document = body ?? Buffer.from("{}");
        const answer: RuntimeAnswer = {
          kind: "init-error",
          body: document,
          errorType: errorTypeOf(request, document),
        };
        slot.initError = answer;
        slot.markReady();
        for (const pending of slot.inFlight.values()) pending.resolve(answer);
        slot.inFlight.clear();
        accepted(response);
      },
      () => response.destroy(),
    );
  }
}

/**
 * The error's type: the header AWS documents, else the document's own `errorType` (AWS's published
 * runtime interface clients send no header).
 */
function errorTypeOf(request: IncomingMessage, body: Buffer): string | undefined {
  const header = request.headers["lambda-runtime-function-error-type"];
  if (typeof header === "string" && header) return header;
  try {
    const type = (JSON.parse(body.toString()) as { errorType?: unknown }).errorType;
    return typeof type === "string" ? type : undefined;
  } catch {
    return undefined;
  }
}

function sendEvent(response: ServerResponse, event: RuntimeEvent): void {
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "content-length": event.payload.length,
    "lambda-runtime-aws-request-id": event.requestId,
    "lambda-runtime-deadline-ms": String(event.deadlineMs),
    "lambda-runtime-invoked-function-arn": event.functionArn,
  };
  if (event.traceId) headers["lambda-runtime-trace-id"] = event.traceId;
  if (event.clientContext) headers["lambda-runtime-client-context"] = event.clientContext;
  if (event.cognitoIdentity) headers["lambda-runtime-cognito-identity"] = event.cognitoIdentity;
  response.writeHead(200, headers).end(event.payload);
}

const acceptedBody = '{"status":"OK"}';
function accepted(response: ServerResponse): void {
  response
    .writeHead(202, { "content-type": "application/json", "content-length": acceptedBody.length })
    .end(acceptedBody);
}

function refuse(response: ServerResponse, status: number, errorType: string, message: string) {
  const body = JSON.stringify({ errorMessage: message, errorType });
  response
    .writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
    })
    .end(body);
}

/** The request's body, or undefined once it passes `limit` bytes (the rest is not read). */
function readBounded(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers["content-length"]);
    if (declared > limit) {
      request.resume();
      return resolve(undefined);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners("data");
        request.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(size > limit ? undefined : Buffer.concat(chunks, size)));
    request.on("error", reject);
  });
}
