import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type InvokeOutcome,
  invokeHeaders,
  invokeResultHeaders,
  type StartInstance,
} from "@skiff/shared";
import { eq } from "drizzle-orm";
import { nodes } from "../db/schema/index.js";
import { functionsControlKey } from "../functions/services/control-key.js";
import { ProtocolAgent } from "./fake-agent.js";
import type { TestStack } from "./harness.js";

/** What the test's function does with one event. */
export type FakeHandler = (
  event: unknown,
  context: { instanceId: string; requestId: string; clientContext: string | undefined },
) =>
  | { outcome?: InvokeOutcome; body: unknown; retired?: boolean; durationMs?: number }
  | Promise<{ outcome?: InvokeOutcome; body: unknown; retired?: boolean; durationMs?: number }>;

/**
 * The control side of an agent for functions (function-instances.ts), on loopback, joined to the
 * stack as a node of pool fargate: the api's invoke path runs against it end to end without
 * containers (the agent branch and the lead's end-to-end tests cover real instances).
 */
export class FakeFunctionAgent {
  readonly started: StartInstance[] = [];
  readonly stopped: string[] = [];
  readonly invocations: { instanceId: string; requestId: string }[] = [];
  readonly instances = new Set<string>();
  /** Requests refused for a wrong control key. */
  refused = 0;
  handler: FakeHandler = (event) => ({ body: event });

  private constructor(
    private readonly server: Server,
    readonly protocol: ProtocolAgent,
    private readonly key: string,
  ) {}

  static async join(stack: TestStack, memory = 4096): Promise<FakeFunctionAgent> {
    const protocol = await ProtocolAgent.join(
      stack,
      "fargate",
      { cpu: 2048, memory },
      {},
      "127.0.0.1",
    );
    const [row] = await stack.services.db.select().from(nodes).where(eq(nodes.id, protocol.id));
    if (!row) throw new Error("the node did not register");
    const holder: { agent?: FakeFunctionAgent } = {};
    const server = createServer((req, res) => {
      const agent = holder.agent;
      if (!agent) {
        res.writeHead(503).end();
        return;
      }
      agent.serve(req).then(
        ({ status, headers, body }) => res.writeHead(status, headers).end(body),
        (error) => res.writeHead(500).end(String(error)),
      );
    });
    await new Promise<void>((listening) => server.listen(0, "127.0.0.1", () => listening()));
    const port = (server.address() as AddressInfo).port;
    await stack.services.db
      .update(nodes)
      .set({ controlPort: port })
      .where(eq(nodes.id, protocol.id));
    holder.agent = new FakeFunctionAgent(server, protocol, functionsControlKey(row.credentialHash));
    await stack.services.functions.nodes.refresh();
    return holder.agent;
  }

  get nodeId(): string {
    return this.protocol.id;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((closed) => this.server.close(() => closed()));
  }

  private async serve(
    req: IncomingMessage,
  ): Promise<{ status: number; headers: Record<string, string>; body?: Buffer | string }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (req.headers.authorization !== `Bearer ${this.key}`) {
      this.refused++;
      return { status: 401, headers: {} };
    }
    const url = req.url ?? "";
    if (req.method === "POST" && url === "/skiff/v1/instances") {
      const start = JSON.parse(body.toString("utf8")) as StartInstance;
      this.started.push(start);
      this.instances.add(start.instanceId);
      return { status: 201, headers: { "content-type": "application/json" }, body: "{}" };
    }
    const invoke = /^\/skiff\/v1\/instances\/([^/]+)\/invoke$/.exec(url);
    if (req.method === "POST" && invoke?.[1]) {
      const instanceId = decodeURIComponent(invoke[1]);
      if (!this.instances.has(instanceId)) return { status: 404, headers: {} };
      const requestId = String(req.headers[invokeHeaders.requestId]);
      this.invocations.push({ instanceId, requestId });
      const clientContext = req.headers[invokeHeaders.clientContext] as string | undefined;
      const result = await this.handler(JSON.parse(body.toString("utf8")), {
        instanceId,
        requestId,
        clientContext,
      });
      const outcome = result.outcome ?? "success";
      const retired = result.retired ?? (outcome === "timeout" || outcome === "exit");
      if (retired) this.instances.delete(instanceId);
      const headers: Record<string, string> = {
        [invokeResultHeaders.outcome]: outcome,
        [invokeResultHeaders.durationMs]: String(result.durationMs ?? 12.5),
        [invokeResultHeaders.billedDurationMs]: String(Math.ceil(result.durationMs ?? 12.5)),
        [invokeResultHeaders.maxMemoryUsedMb]: "40",
        [invokeResultHeaders.retired]: retired ? "1" : "0",
      };
      if (req.headers[invokeHeaders.logTail] === "1")
        headers[invokeResultHeaders.logResult] = Buffer.from(
          `START RequestId: ${requestId}\n`,
        ).toString("base64");
      return { status: 200, headers, body: JSON.stringify(result.body) };
    }
    const stop = /^\/skiff\/v1\/instances\/([^/]+)$/.exec(url);
    if (req.method === "DELETE" && stop?.[1]) {
      const instanceId = decodeURIComponent(stop[1]);
      this.stopped.push(instanceId);
      this.instances.delete(instanceId);
      return { status: 204, headers: {} };
    }
    return { status: 404, headers: {} };
  }
}

/** A function row as branch fn-api's routes would create it. */
export async function insertFunction(
  stack: TestStack,
  name: string,
  more: Partial<{
    memory: number;
    timeout: number;
    reservedConcurrency: number | null;
    maxRetryAttempts: number;
    maxEventAgeSeconds: number;
    code: boolean;
  }> = {},
): Promise<string> {
  const { functions } = await import("../db/schema/index.js");
  const id = `fn_${name.replaceAll("-", "_")}_${Math.random().toString(36).slice(2, 8)}`;
  await stack.services.db.insert(functions).values({
    id,
    name,
    runtime: "nodejs22.x",
    handler: "index.handler",
    memory: more.memory ?? 128,
    timeout: more.timeout ?? 3,
    environment: {},
    secrets: [],
    reservedConcurrency: more.reservedConcurrency ?? null,
    maxRetryAttempts: more.maxRetryAttempts ?? 2,
    maxEventAgeSeconds: more.maxEventAgeSeconds ?? 21600,
    codeSha256: more.code === false ? null : "a".repeat(64),
    codeSize: more.code === false ? null : 100,
  });
  return id;
}
