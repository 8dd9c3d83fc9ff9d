import { randomUUID } from "node:crypto";
import { fargatePool } from "@skiff/shared";
import { and, eq, inArray, isNotNull, isNull, ne, notExists, sql } from "drizzle-orm";
import type { Redis } from "ioredis";
import { deregisterNode } from "../../compute/services/nodes.js";
import { createJoinToken } from "../../compute/services/pools.js";
import type { Database } from "../../db/client.js";
import { nodes, tasks } from "../../db/schema/index.js";
import type { Clock } from "../../lib/clock.js";
import type { Lease } from "../../lib/leader-lock.js";
import type { Logger } from "../../lib/logger.js";
import { nodesFor } from "./capacity-plan.js";
import type { Provisioner } from "./provisioner.js";

/** Nodes the provisioner made carry this attribute; only they are ever scaled in. */
export const provisionedAttribute = "skiff.provisioned";

export interface CapacityProviderOptions {
  db: Database;
  redis: Redis;
  clock: Clock;
  logger: Logger;
  provisioner: Provisioner;
  /** Size of each node the provisioner makes, in cpu units and MiB. */
  node: { cpu: number; memory: number };
  /** Where new agents reach the api. */
  apiUrl: string;
  /** A provisioned node idle this long is scaled in. */
  scaleInAfterMs: number;
  /** How long requested nodes may take to join before Skiff asks again. */
  bootTimeoutMs: number;
}

const requestKey = "capacity:fargate:requested";
/** How long newly joined nodes get before more are asked for. */
const settleMs = 10_000;

/** The scale-out request waiting for its nodes, kept in Redis. */
interface InFlight {
  /** Tells this request's marker from a later one's. */
  id?: string;
  count: number;
  /** Fargate nodes before the request: the request is met at nodesBefore + count. */
  nodesBefore: number;
  /** Set once the nodes joined; the key then lapses after settleMs. */
  joined?: boolean;
}
const idleKey = "capacity:fargate:idle-since";
const deleteIfScript = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

/** A lease that is never lost, for a provider run outside a leader loop. */
const noLease: Lease = { signal: new AbortController().signal, check: async () => {} };

/**
 * The fargate capacity loop (run on one replica by a leader lock): asks the operator's
 * provisioner for the nodes that pending fargate tasks are missing, one request at a time until
 * those nodes join or the boot timeout passes; and hands back provisioned nodes idle for the
 * cool-down, drained first so nothing is placed on them meanwhile. A node with a task is never
 * scaled in. What it remembers between runs is in Redis, so another replica can take over.
 */
export class CapacityProvider {
  constructor(private readonly opts: CapacityProviderOptions) {}

  async run(lease: Lease = noLease): Promise<void> {
    await this.scaleOut(lease);
    await this.scaleIn(lease);
  }

  private async scaleOut(lease: Lease): Promise<void> {
    const { db, redis, clock, logger, provisioner, node } = this.opts;
    // Only tasks the scheduler already tried: a task created a moment ago may still fit.
    const pending = await db
      .select({ cpu: tasks.cpu, memory: tasks.memory })
      .from(tasks)
      .where(
        and(
          eq(tasks.pool, fargatePool),
          eq(tasks.status, "provisioning"),
          eq(tasks.desiredStatus, "running"),
          isNull(tasks.nodeId),
          isNotNull(tasks.pendingReason),
        ),
      );
    const missing = nodesFor(pending, node);
    const joined = await this.countNodes();
    const inFlight = await redis.get(requestKey);
    if (inFlight) {
      const request = JSON.parse(inFlight) as InFlight;
      if (joined - request.nodesBefore < request.count) return; // still booting
      // Joined: give the scheduler a few passes to fill them before judging what is missing;
      // the key then lapses on its own.
      if (!request.joined) {
        const settle = JSON.stringify({ ...request, joined: true } satisfies InFlight);
        await redis.set(requestKey, settle, "PX", settleMs);
      }
      return;
    }
    if (missing === 0) return;

    // The marker goes in before the call, and only if none is there: a call may take minutes,
    // and another replica (a new leader after a lost lease) must see the request as in flight.
    await lease.check();
    const marker = JSON.stringify({
      id: randomUUID(),
      count: missing,
      nodesBefore: joined,
    } satisfies InFlight);
    const placed = await redis.set(requestKey, marker, "PX", this.opts.bootTimeoutMs, "NX");
    if (placed !== "OK") return;
    try {
      const ttlSeconds = Math.max(60, Math.ceil(this.opts.bootTimeoutMs / 1000) * 2);
      // As many uses as nodes asked for: a leaked token admits no more.
      const { token } = await createJoinToken(db, fargatePool, ttlSeconds, clock.now(), missing);
      logger.info(
        { count: missing, node, pendingTasks: pending.length },
        "asking for fargate nodes",
      );
      await provisioner.provision({
        action: "scale-out",
        pool: fargatePool,
        count: missing,
        node,
        joinToken: token,
        apiUrl: this.opts.apiUrl,
      });
    } catch (error) {
      // Refused or failed: the next pass asks again rather than wait out the boot timeout.
      await redis.eval(deleteIfScript, 1, requestKey, marker).catch(() => {});
      throw error;
    }
  }

  private async scaleIn(lease: Lease): Promise<void> {
    const { db, redis, clock, logger, provisioner } = this.opts;
    const now = clock.now().getTime();
    const idle = await db
      .select({ id: nodes.id, name: nodes.name, address: nodes.address })
      .from(nodes)
      .where(and(this.provisionedFargateNode(), this.holdsNothing()));
    const idleIds = new Set(idle.map((row) => row.id));
    const since = await redis.hgetall(idleKey);
    const forget = Object.keys(since).filter((id) => !idleIds.has(id));
    if (forget.length > 0) await redis.hdel(idleKey, ...forget);
    for (const row of idle) if (!since[row.id]) await redis.hset(idleKey, row.id, String(now));

    const due = idle.filter((row) => {
      const first = Number(since[row.id] ?? now);
      return now - first >= this.opts.scaleInAfterMs;
    });
    if (due.length === 0) return;
    await lease.check();
    // Drained under the same condition, so a task placed meanwhile keeps its node.
    const drained = await db
      .update(nodes)
      .set({ state: "draining" })
      .where(
        and(
          inArray(
            nodes.id,
            due.map((row) => row.id),
          ),
          this.holdsNothing(),
        ),
      )
      .returning({ id: nodes.id, name: nodes.name, address: nodes.address });
    if (drained.length === 0) return;
    logger.info({ nodes: drained.map((row) => row.id) }, "handing back idle fargate nodes");
    await provisioner.provision({ action: "scale-in", pool: fargatePool, nodes: drained });
    for (const row of drained) {
      await deregisterNode(db, row.id);
      await redis.hdel(idleKey, row.id);
    }
  }

  private async countNodes(): Promise<number> {
    const [row] = await this.opts.db
      .select({ n: sql<number>`count(*)::int` })
      .from(nodes)
      .where(and(eq(nodes.pool, fargatePool), ne(nodes.state, "down")));
    return row?.n ?? 0;
  }

  private provisionedFargateNode() {
    return and(
      eq(nodes.pool, fargatePool),
      ne(nodes.state, "down"),
      sql`${nodes.attributes} ->> ${provisionedAttribute} = 'true'`,
    );
  }

  /** No resources allocated and no task that has not stopped. */
  private holdsNothing() {
    return and(
      eq(nodes.allocatedCpu, 0),
      eq(nodes.allocatedMemory, 0),
      notExists(
        this.opts.db
          .select({ id: tasks.id })
          .from(tasks)
          .where(and(eq(tasks.nodeId, nodes.id), ne(tasks.status, "stopped"))),
      ),
    );
  }
}
