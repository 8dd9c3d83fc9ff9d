import { Agent, request } from "node:http";
import {
  type InvokeOutcome,
  invokeHeaders,
  invokeResultHeaders,
  type StartInstance,
} from "@skiff/shared";
import { functionsControlKey } from "./control-key.js";
import type { FunctionNode } from "./node-picker.js";

/** What an agent answered for one invocation. */
export interface AgentInvokeResult {
  outcome: InvokeOutcome;
  body: Buffer;
  durationMs: number;
  billedDurationMs: number;
  maxMemoryUsedMb: number | undefined;
  initDurationMs: number | undefined;
  logResult: string | undefined;
  /** The instance is gone after this invocation. */
  retired: boolean;
}

export interface InvokeRequest {
  requestId: string;
  deadlineMs: number;
  clientContext?: string | undefined;
  logTail?: boolean;
  traceId?: string | undefined;
}

/** The agent answered 404: the instance is gone (stopped, crashed, the node restarted). */
export class InstanceGoneError extends Error {}

/** The agent could not be reached, or answered something unexpected. */
export class AgentUnavailableError extends Error {}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * The api's side of the agent control API (function-instances.ts): one keep-alive connection
 * pool per node, the control key on every call, and a deadline on every call.
 */
export class AgentClient {
  // Keep-alive: a warm invocation must not pay a TCP handshake.
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000 });
  private readonly keys = new Map<string, string>();

  constructor(private readonly options: { startTimeoutMs?: number; marginMs?: number } = {}) {}

  close(): void {
    this.agent.destroy();
  }

  async start(node: FunctionNode, instance: StartInstance): Promise<void> {
    const reply = await this.call(
      node,
      "POST",
      "/skiff/v1/instances",
      Buffer.from(JSON.stringify(instance)),
      { "content-type": "application/json" },
      this.options.startTimeoutMs ?? 300_000,
    );
    if (reply.status !== 201 && reply.status !== 200)
      throw new AgentUnavailableError(
        `node ${node.id} refused to start the instance: ${reply.status} ${reply.body.toString("utf8").slice(0, 300)}`,
      );
  }

  async invoke(
    node: FunctionNode,
    instanceId: string,
    payload: Buffer,
    invocation: InvokeRequest,
  ): Promise<AgentInvokeResult> {
    const headers: Record<string, string> = {
      "content-type": "application/octet-stream",
      [invokeHeaders.requestId]: invocation.requestId,
      [invokeHeaders.deadlineMs]: String(invocation.deadlineMs),
    };
    if (invocation.clientContext) headers[invokeHeaders.clientContext] = invocation.clientContext;
    if (invocation.traceId) headers[invokeHeaders.traceId] = invocation.traceId;
    if (invocation.logTail) headers[invokeHeaders.logTail] = "1";
    // The agent enforces the deadline; this one only covers an agent that stopped answering.
    const timeoutMs =
      Math.max(invocation.deadlineMs - Date.now(), 0) + (this.options.marginMs ?? 10_000);
    const reply = await this.call(
      node,
      "POST",
      `/skiff/v1/instances/${encodeURIComponent(instanceId)}/invoke`,
      payload,
      headers,
      timeoutMs,
    );
    if (reply.status === 404) throw new InstanceGoneError(`instance ${instanceId} is gone`);
    if (reply.status !== 200)
      throw new AgentUnavailableError(
        `node ${node.id} answered ${reply.status} to an invocation: ${reply.body.toString("utf8").slice(0, 300)}`,
      );
    const header = (name: string) => {
      const value = reply.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const number = (name: string) => {
      const value = header(name);
      return value === undefined || value === "" ? undefined : Number(value);
    };
    return {
      outcome: (header(invokeResultHeaders.outcome) ?? "success") as InvokeOutcome,
      body: reply.body,
      durationMs: number(invokeResultHeaders.durationMs) ?? 0,
      billedDurationMs: number(invokeResultHeaders.billedDurationMs) ?? 0,
      maxMemoryUsedMb: number(invokeResultHeaders.maxMemoryUsedMb),
      initDurationMs: number(invokeResultHeaders.initDurationMs),
      logResult: header(invokeResultHeaders.logResult),
      retired: header(invokeResultHeaders.retired) === "1",
    };
  }

  /** Stops and removes an instance; an unknown one is fine (204 too). */
  async stop(node: FunctionNode, instanceId: string): Promise<void> {
    const reply = await this.call(
      node,
      "DELETE",
      `/skiff/v1/instances/${encodeURIComponent(instanceId)}`,
      undefined,
      {},
      30_000,
    );
    if (reply.status !== 204 && reply.status !== 404 && reply.status !== 200)
      throw new AgentUnavailableError(`node ${node.id} answered ${reply.status} to a stop`);
  }

  private keyOf(node: FunctionNode): string {
    let key = this.keys.get(node.credentialHash);
    if (!key) {
      key = functionsControlKey(node.credentialHash);
      this.keys.set(node.credentialHash, key);
    }
    return key;
  }

  private call(
    node: FunctionNode,
    method: string,
    path: string,
    body: Buffer | undefined,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<Reply> {
    const url = new URL(path, node.url);
    return new Promise<Reply>((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            ...headers,
            authorization: `Bearer ${this.keyOf(node)}`,
            "content-length": String(body?.length ?? 0),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks),
            }),
          );
          res.on("error", (error) => reject(new AgentUnavailableError(error.message)));
        },
      );
      req.setTimeout(timeoutMs, () =>
        req.destroy(
          new AgentUnavailableError(`node ${node.id} did not answer within ${timeoutMs} ms`),
        ),
      );
      req.on("error", (error) =>
        reject(
          error instanceof AgentUnavailableError
            ? error
            : new AgentUnavailableError(`node ${node.id} unreachable: ${error.message}`),
        ),
      );
      req.end(body);
    });
  }
}
