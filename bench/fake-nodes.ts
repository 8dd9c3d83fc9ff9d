import type { SkiffClient } from "@skiff/shared";
import { forEachLimited } from "./support.js";

export interface FakeNode {
  nodeId: string;
  credential: string;
}

/**
 * Agents faked at the HTTP level: each registers through `POST /v1/agent/register` with a pool
 * join token and heartbeats through the real route, at once or at the interval the api asked
 * for, as the real agent does. No Docker: they never report tasks, so placed tasks stay `pending`.
 */
export class FakeNodeFleet {
  readonly nodes: FakeNode[] = [];
  heartbeats = 0;
  failedHeartbeats = 0;
  /** The interval the api asked for at registration. */
  intervalMs = 5_000;
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly admin: SkiffClient,
  ) {}

  async register(
    pool: string,
    count: number,
    capacity: { cpu: number; memory: number },
    attributes: (index: number) => Record<string, string>,
  ): Promise<void> {
    const { token } = await this.admin.createJoinToken(pool);
    await forEachLimited(
      Array.from({ length: count }, (_, index) => index),
      16,
      async (index) => {
        const response = await fetch(`${this.baseUrl}/v1/agent/register`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            joinToken: token,
            name: `fake-${index}`,
            capacity,
            attributes: attributes(index),
            address: `10.${(index >> 8) & 255}.${index & 255}.1`,
          }),
        });
        if (response.status !== 201)
          throw new Error(`register: ${response.status} ${await response.text()}`);
        const body = (await response.json()) as FakeNode & { heartbeatIntervalSeconds: number };
        this.intervalMs = body.heartbeatIntervalSeconds * 1000;
        this.nodes.push({ nodeId: body.nodeId, credential: body.credential });
      },
    );
  }

  /** Every node heartbeats once, `concurrency` at a time; resolves with heartbeats per second. */
  async heartbeatAll(concurrency: number): Promise<number> {
    const started = Date.now();
    await forEachLimited(this.nodes, concurrency, (node) => this.beat(node));
    return (this.nodes.length / (Date.now() - started)) * 1000;
  }

  /** Each node heartbeats every `intervalMs`, the fleet spread evenly over the interval. */
  startHeartbeats(intervalMs = this.intervalMs): void {
    this.nodes.forEach((node, index) => {
      const beat = () => this.beat(node);
      const start = setTimeout(
        () => {
          void beat();
          this.timers.push(setInterval(beat, intervalMs));
        },
        Math.floor((index / this.nodes.length) * intervalMs),
      );
      this.timers.push(start);
    });
  }

  private async beat(node: FakeNode): Promise<void> {
    try {
      const response = await fetch(`${this.baseUrl}/v1/agent/nodes/${node.nodeId}/heartbeat`, {
        method: "POST",
        headers: { authorization: `Bearer ${node.credential}`, "content-type": "application/json" },
        body: JSON.stringify({ taskIds: [] }),
      });
      await response.arrayBuffer();
      if (response.status === 200) this.heartbeats++;
      else this.failedHeartbeats++;
    } catch {
      this.failedHeartbeats++;
    }
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
  }
}
