import {
  type Assignments,
  assignmentsSchema,
  errorBodySchema,
  type FunctionLogs,
  functionLimits,
  goneNodesSchema,
  type Heartbeat,
  heartbeatAnswerSchema,
  type RegisteredNode,
  type RegisterNode,
  registeredNodeSchema,
  type ShipLogs,
  SkiffApiError,
  type TaskReport,
} from "@skiff/shared";
import type { z } from "zod";

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  /** Where the api listens, e.g. `http://api:3000`. */
  baseUrl: string;
  /** The node credential; absent until the node is registered. */
  credential?: string;
  /** Defaults to the global fetch. */
  fetch?: FetchLike;
  /** Time limit of ordinary calls. Default 10 s. */
  timeoutMs?: number;
}

/**
 * The agent's side of the agent <-> control plane protocol. Answers are parsed with the shared
 * schemas; the api's errors become SkiffApiError, network failures reject as fetch does, and
 * callers retry with backoff.
 */
export class ApiClient {
  private readonly baseUrl: string;
  private readonly doFetch: FetchLike;
  private readonly timeoutMs: number;
  private credential: string | undefined;

  constructor(opts: ApiClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, "");
    this.doFetch = opts.fetch ?? ((input, init) => fetch(input, init));
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.credential = opts.credential;
  }

  /** Uses this credential from now on (after registering). */
  setCredential(credential: string): void {
    this.credential = credential;
  }

  /** POST /v1/agent/register: trades a pool join token for a node id and credential. */
  register(body: RegisterNode): Promise<RegisteredNode> {
    return this.call("POST", "/v1/agent/register", registeredNodeSchema, { body });
  }

  /** POST /v1/agent/nodes/:id/heartbeat; answers the node's state as the api sees it. */
  heartbeat(nodeId: string, body: Heartbeat): Promise<z.infer<typeof heartbeatAnswerSchema>> {
    return this.call("POST", `${nodePath(nodeId)}/heartbeat`, heartbeatAnswerSchema, { body });
  }

  /**
   * GET /v1/agent/nodes/:id/assignments: answers at once when the assignments moved past
   * `index`, else after `waitSeconds`. The time limit sits a little above the wait, so a server
   * that never answers does not hang the loop.
   */
  waitForAssignments(
    nodeId: string,
    index: number,
    waitSeconds: number,
    signal?: AbortSignal,
  ): Promise<Assignments> {
    const query = `?index=${index}&wait=${waitSeconds}s`;
    return this.call("GET", `${nodePath(nodeId)}/assignments${query}`, assignmentsSchema, {
      timeoutMs: (waitSeconds + 10) * 1000,
      signal,
    });
  }

  /** POST /v1/agent/nodes/:id/tasks/:taskId/status: one task transition. */
  async reportTask(nodeId: string, taskId: string, report: TaskReport): Promise<void> {
    await this.call(
      "POST",
      `${nodePath(nodeId)}/tasks/${encodeURIComponent(taskId)}/status`,
      undefined,
      { body: report },
    );
  }

  /** POST /v1/agent/nodes/:id/gone-nodes: which of these nodes are unknown or down. */
  async goneNodes(nodeId: string, nodeIds: string[]): Promise<string[]> {
    const answer = await this.call("POST", `${nodePath(nodeId)}/gone-nodes`, goneNodesSchema, {
      body: { nodeIds },
    });
    return answer.nodeIds;
  }

  /** POST /v1/agent/nodes/:id/tasks/:taskId/logs: up to 1000 of a task's lines, oldest first. */
  async shipLogs(nodeId: string, taskId: string, body: ShipLogs): Promise<void> {
    await this.call(
      "POST",
      `${nodePath(nodeId)}/tasks/${encodeURIComponent(taskId)}/logs`,
      undefined,
      { body },
    );
  }

  /** POST /v1/agent/nodes/:id/function-logs: a batch of one function's log lines. */
  async shipFunctionLogs(nodeId: string, body: FunctionLogs): Promise<void> {
    await this.call("POST", `${nodePath(nodeId)}/function-logs`, undefined, { body });
  }

  /**
   * GET /v1/agent/function-code/:sha256: a function's zip. The caller checks its sha256; this
   * refuses more than Lambda's zipped code limit, however long the answer claims to be.
   */
  async functionCode(sha256: string): Promise<Buffer> {
    const headers: Record<string, string> = { accept: "application/zip" };
    if (this.credential) headers.authorization = `Bearer ${this.credential}`;
    const response = await this.doFetch(
      `${this.baseUrl}/v1/agent/function-code/${encodeURIComponent(sha256)}`,
      { method: "GET", headers, signal: AbortSignal.timeout(Math.max(this.timeoutMs, 120_000)) },
    );
    if (!response.ok) throw await toApiError(response);
    const limit = functionLimits.zippedCodeBytes;
    if (Number(response.headers.get("content-length")) > limit) {
      await response.body?.cancel();
      throw new Error(`function code ${sha256} is larger than ${limit} bytes`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body ?? []) {
      size += chunk.length;
      if (size > limit) throw new Error(`function code ${sha256} is larger than ${limit} bytes`);
      chunks.push(Buffer.from(chunk));
    }
    return Buffer.concat(chunks);
  }

  private async call<S extends z.ZodType | undefined>(
    method: string,
    path: string,
    schema: S,
    opts: { body?: unknown; timeoutMs?: number; signal?: AbortSignal | undefined } = {},
  ): Promise<S extends z.ZodType ? z.infer<S> : undefined> {
    const { body } = opts;
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? this.timeoutMs);
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.credential) headers.authorization = `Bearer ${this.credential}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await this.doFetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      // The caller's signal lets Agent.stop() end a long poll at once.
      signal: opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout,
    });
    if (!response.ok) throw await toApiError(response);
    if (!schema || response.status === 204) {
      // Drain the body so the connection goes back to the pool.
      await response.arrayBuffer().catch(() => undefined);
      return undefined as never;
    }
    return schema.parse(await response.json()) as never;
  }
}

function nodePath(nodeId: string): string {
  return `/v1/agent/nodes/${encodeURIComponent(nodeId)}`;
}

async function toApiError(response: Response): Promise<SkiffApiError> {
  const text = await response.text();
  try {
    const { error } = errorBodySchema.parse(JSON.parse(text));
    return new SkiffApiError(response.status, error.code, error.message, error.requestId);
  } catch {
    return new SkiffApiError(response.status, "Unknown", text.slice(0, 500), undefined);
  }
}
