import {
  type Assignments,
  assignmentsSchema,
  joinTokenSchema,
  type LogLine,
  type RegisteredNode,
  registeredNodeSchema,
  type TaskReport,
} from "@skiff/shared";
import type { TestStack } from "./harness.js";

/**
 * The HTTP side of an agent, driven by a test: registers, long-polls and reports through the
 * real routes. (The real agent, apps/agent, runs containers; these tests are about the api.)
 */
export class ProtocolAgent {
  private constructor(
    private readonly stack: TestStack,
    readonly node: RegisteredNode,
  ) {}

  static async join(
    stack: TestStack,
    pool: string,
    capacity = { cpu: 2048, memory: 4096 },
    attributes: Record<string, string> = {},
    address = "10.0.0.1",
  ): Promise<ProtocolAgent> {
    const { token } = await stack.admin.request(
      "POST",
      `/v1/pools/${pool}/join-tokens`,
      joinTokenSchema,
      {},
    );
    const response = await stack.request("/v1/agent/register", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        joinToken: token,
        name: `host-${Math.random()}`,
        capacity,
        attributes,
        address,
      }),
    });
    if (response.status !== 201)
      throw new Error(`register: ${response.status} ${await response.text()}`);
    return new ProtocolAgent(stack, registeredNodeSchema.parse(await response.json()));
  }

  get id(): string {
    return this.node.nodeId;
  }

  private call(path: string, init: RequestInit = {}): Promise<Response> {
    return this.stack.request(`/v1/agent/nodes/${this.id}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${this.node.credential}`,
        "content-type": "application/json",
      },
    });
  }

  async assignments(index = 0, wait = "0s"): Promise<Assignments> {
    const response = await this.call(`/assignments?index=${index}&wait=${wait}`);
    if (response.status !== 200)
      throw new Error(`assignments: ${response.status} ${await response.text()}`);
    return assignmentsSchema.parse(await response.json());
  }

  async heartbeat(extra: Record<string, unknown> = {}): Promise<Response> {
    return this.call("/heartbeat", {
      method: "POST",
      body: JSON.stringify({ taskIds: [], ...extra }),
    });
  }

  async report(
    taskId: string,
    report: Omit<TaskReport, "containers"> & Partial<TaskReport>,
  ): Promise<Response> {
    return this.call(`/tasks/${taskId}/status`, {
      method: "POST",
      body: JSON.stringify({ containers: [], ...report }),
    });
  }

  async shipLogs(taskId: string, lines: LogLine[]): Promise<Response> {
    return this.call(`/tasks/${taskId}/logs`, {
      method: "POST",
      body: JSON.stringify({ lines }),
    });
  }
}
