import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { RuntimeAnswer, RuntimeEvent, RuntimeEvents } from "../runtime-contract.js";

// Same constructor and methods as RuntimeApi. For tests only, until the real RuntimeApi (runtime-api.ts, branch `runtimes`) is merged: the
// Runtime API's happy path (next, response, error, init/error), enough to drive instances.

interface Slot {
  ready: Promise<void>;
  markReady: () => void;
  waiting: ((event: RuntimeEvent) => void) | undefined;
  queued: RuntimeEvent | undefined;
  pending: Map<
    string,
    { resolve: (answer: RuntimeAnswer) => void; reject: (error: Error) => void }
  >;
  initError: RuntimeAnswer | undefined;
}

export class MinimalRuntimeApi implements RuntimeEvents {
  private readonly server: Server;
  private readonly slots = new Map<string, Slot>();

  private readonly identify: (address: string) => string | undefined;

  constructor(
    private readonly opts: {
      identify(remoteAddress: string): string | undefined;
      port: number;
      host?: string;
    },
  ) {
    this.identify = (address) => opts.identify(address);
    this.server = createServer((request, response) => {
      const id = this.identify(request.socket.remoteAddress ?? "");
      if (!id) return void response.writeHead(403).end();
      const slot = this.slot(id);
      const url = request.url ?? "";
      if (request.method === "GET" && url.endsWith("/invocation/next")) {
        slot.markReady();
        const send = (event: RuntimeEvent) =>
          response
            .writeHead(200, {
              "lambda-runtime-aws-request-id": event.requestId,
              "lambda-runtime-deadline-ms": String(event.deadlineMs),
              "lambda-runtime-invoked-function-arn": event.functionArn,
            })
            .end(event.payload);
        if (slot.queued) {
          const event = slot.queued;
          slot.queued = undefined;
          send(event);
        } else slot.waiting = send;
        return;
      }
      void body(request).then((bytes) => {
        const match = /invocation\/([^/]+)\/(response|error)$/.exec(url);
        const type = request.headers["lambda-runtime-function-error-type"] as string | undefined;
        if (url.endsWith("/init/error")) {
          const answer: RuntimeAnswer = { kind: "init-error", body: bytes, errorType: type };
          slot.initError = answer;
          for (const pending of slot.pending.values()) pending.resolve(answer);
          slot.pending.clear();
        } else if (match?.[1] && slot.pending.has(match[1])) {
          const pending = slot.pending.get(match[1]);
          slot.pending.delete(match[1]);
          pending?.resolve(
            match[2] === "response"
              ? { kind: "response", body: bytes }
              : { kind: "error", body: bytes, errorType: type },
          );
        } else return void response.writeHead(404).end();
        response.writeHead(202).end('{"status":"OK"}');
      });
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve) =>
      this.server.listen(this.opts.port, this.opts.host ?? "0.0.0.0", () =>
        resolve((this.server.address() as AddressInfo).port),
      ),
    );
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private slot(id: string): Slot {
    let slot = this.slots.get(id);
    if (!slot) {
      let markReady = () => {};
      const ready = new Promise<void>((resolve) => {
        markReady = resolve;
      });
      slot = {
        ready,
        markReady,
        waiting: undefined,
        queued: undefined,
        pending: new Map(),
        initError: undefined,
      };
      this.slots.set(id, slot);
    }
    return slot;
  }

  ready(instanceId: string): Promise<void> {
    return this.slot(instanceId).ready;
  }

  invoke(instanceId: string, event: RuntimeEvent): Promise<RuntimeAnswer> {
    const slot = this.slot(instanceId);
    if (slot.initError) return Promise.resolve(slot.initError);
    return new Promise((resolve, reject) => {
      slot.pending.set(event.requestId, { resolve, reject });
      if (slot.waiting) {
        const send = slot.waiting;
        slot.waiting = undefined;
        send(event);
      } else slot.queued = event;
    });
  }

  forget(instanceId: string, reason: Error): void {
    const slot = this.slots.get(instanceId);
    this.slots.delete(instanceId);
    for (const pending of slot?.pending.values() ?? []) pending.reject(reason);
  }
}

function body(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}
