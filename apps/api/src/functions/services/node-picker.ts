import { and, eq, isNotNull } from "drizzle-orm";
import type { Database } from "../../db/client.js";
import { nodes } from "../../db/schema/index.js";
import type { Logger } from "../../lib/logger.js";

/** A node that can run function instances, as the picker last read it. */
export interface FunctionNode {
  id: string;
  /** `http://<address>:<controlPort>`: the agent's control API. */
  url: string;
  /** Hex SHA-256 of the node's credential: the control key is derived from it. */
  credentialHash: string;
  /** MiB for instances: capacity less what tasks hold. */
  memoryForInstances: number;
}

/** The least time between two reads forced by a miss. */
const missReloadMs = 1_000;

/**
 * The nodes instances may start on (active, pool `fargate`, an agent with a control port),
 * read from PostgreSQL every few seconds into memory: a cold start never waits on PostgreSQL.
 */
export class NodePicker {
  private view: FunctionNode[] = [];
  private byId = new Map<string, FunctionNode>();
  private timer: NodeJS.Timeout | undefined;
  private loaded: Promise<void> | undefined;
  private refreshedAt = 0;

  constructor(
    private readonly db: Database,
    private readonly options: { refreshMs?: number; pool?: string; logger?: Logger } = {},
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.refresh().catch((error) =>
        this.options.logger?.warn({ err: error }, "function node view refresh failed"),
      );
    }, this.options.refreshMs ?? 3_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async refresh(): Promise<void> {
    const rows = await this.db
      .select()
      .from(nodes)
      .where(
        and(
          eq(nodes.pool, this.options.pool ?? "fargate"),
          eq(nodes.state, "active"),
          isNotNull(nodes.controlPort),
        ),
      );
    this.view = rows.map((row) => ({
      id: row.id,
      url: `http://${row.address.includes(":") ? `[${row.address}]` : row.address}:${row.controlPort}`,
      credentialHash: row.credentialHash,
      memoryForInstances: row.capacityMemory - row.allocatedMemory,
    }));
    this.byId = new Map(this.view.map((node) => [node.id, node]));
    this.refreshedAt = Date.now();
  }

  /**
   * Reads the nodes again when the view missed something it may not know yet (a node that just
   * joined, or freed memory): at most once a second, so misses never flood PostgreSQL.
   */
  private async reloadOnMiss(): Promise<boolean> {
    if (Date.now() - this.refreshedAt < missReloadMs) return false;
    this.loaded = this.refresh();
    await this.loaded;
    return true;
  }

  /** The view, read once before the first use. */
  async nodes(): Promise<FunctionNode[]> {
    if (!this.loaded) this.loaded = this.refresh();
    await this.loaded;
    return this.view;
  }

  async node(id: string): Promise<FunctionNode | undefined> {
    await this.nodes();
    const node = this.byId.get(id);
    if (node || !(await this.reloadOnMiss())) return node;
    return this.byId.get(id);
  }

  /**
   * Candidates for an instance of `memory` MiB, the most free memory first (spreading load),
   * given what instances already hold on each node (Redis, all replicas).
   */
  async candidates(
    memory: number,
    held: (ids: string[]) => Promise<Map<string, number>>,
  ): Promise<FunctionNode[]> {
    const all = await this.nodes();
    const used = await held(all.map((node) => node.id));
    const fitting = all
      .map((node) => ({ node, free: node.memoryForInstances - (used.get(node.id) ?? 0) }))
      .filter((entry) => entry.free >= memory)
      .sort((a, b) => b.free - a.free)
      .map((entry) => entry.node);
    if (fitting.length > 0 || !(await this.reloadOnMiss())) return fitting;
    return this.candidates(memory, held);
  }
}
