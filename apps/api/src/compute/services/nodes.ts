import {
  type Node,
  newId,
  nodeAddressKind,
  type Page,
  type RegisteredNode,
  type RegisterNode,
} from "@skiff/shared";
import { and, asc, eq, gt, inArray, lt, ne, sql } from "drizzle-orm";
import type { Redis } from "ioredis";
import type { Database } from "../../db/client.js";
import { nodes, tasks } from "../../db/schema/index.js";
import { ApiError, conflict, notFound } from "../../lib/errors.js";
import { ensureClusterId } from "./cluster.js";
import { hashSecret, newSecret } from "./credentials.js";
import { flushHeartbeats, noteHeartbeat } from "./heartbeats.js";
import { useJoinToken } from "./pools.js";

type NodeRow = typeof nodes.$inferSelect;

/**
 * Three heartbeats fit in the node-down window (at most one every 5 s), so one late or lost
 * heartbeat never marks a live node down.
 */
export function heartbeatIntervalFor(nodeDownAfterMs: number): number {
  return Math.min(5, Math.max(1, Math.floor(nodeDownAfterMs / 3_000)));
}

export function toNode(row: NodeRow): Node {
  return {
    id: row.id,
    pool: row.pool,
    name: row.name,
    state: row.state,
    capacity: { cpu: row.capacityCpu, memory: row.capacityMemory },
    allocated: { cpu: row.allocatedCpu, memory: row.allocatedMemory },
    attributes: row.attributes,
    address: row.address,
    lastHeartbeatAt: row.lastHeartbeatAt?.toISOString() ?? null,
    registeredAt: row.registeredAt.toISOString(),
  };
}

/**
 * Admits an agent holding a valid join token; its credential is returned once. A loopback address
 * (127.0.0.0/8, ::1, localhost) is the gateway host's own: only an agent on that host, registering
 * over loopback (the all-in-one's), may declare it, so a node credential elsewhere cannot point
 * the gateway at services listening on the host's loopback only.
 */
export async function registerNode(
  db: Database,
  input: RegisterNode,
  sourceAddress: string,
  now: Date,
  nodeDownAfterMs: number,
): Promise<RegisteredNode> {
  if (
    input.address !== undefined &&
    nodeAddressKind(input.address) === "loopback" &&
    nodeAddressKind(sourceAddress) !== "loopback"
  ) {
    throw new ApiError(
      "ValidationError",
      `address ${input.address} is loopback: only an agent registering from this host (over loopback) may declare it; give the node's own address`,
    );
  }
  const credential = newSecret("skn");
  const clusterId = await ensureClusterId(db);
  // The token's use and the node are one transaction: a failed insert gives the use back.
  return db.transaction(async (tx) => {
    const pool = await useJoinToken(tx, input.joinToken, now);
    const [row] = await tx
      .insert(nodes)
      .values({
        id: newId("node"),
        pool,
        name: input.name,
        state: "active",
        capacityCpu: input.capacity.cpu,
        capacityMemory: input.capacity.memory,
        attributes: input.attributes ?? {},
        address: input.address ?? sourceAddress,
        credentialHash: hashSecret(credential),
        lastHeartbeatAt: now,
        controlPort: input.controlPort ?? null,
      })
      .returning();
    if (!row) throw new Error("insert returned no row");
    return {
      nodeId: row.id,
      pool,
      credential,
      heartbeatIntervalSeconds: heartbeatIntervalFor(nodeDownAfterMs),
      clusterId,
    };
  });
}

/**
 * Of these node ids, the ones whose containers nobody will look after: not registered (deleted,
 * or never in this install) or down (the api stopped their tasks as lost). An agent removes such
 * nodes' containers from its engine; containers of live nodes are their own agent's business.
 */
export async function findGoneNodes(db: Database, nodeIds: string[]): Promise<string[]> {
  if (nodeIds.length === 0) return [];
  const live = await db
    .select({ id: nodes.id })
    .from(nodes)
    .where(and(inArray(nodes.id, nodeIds), ne(nodes.state, "down")));
  const liveIds = new Set(live.map((row) => row.id));
  return nodeIds.filter((id) => !liveIds.has(id));
}

/** The node a credential belongs to, when it matches the node id in the path. */
export async function authenticateNode(
  db: Database,
  nodeId: string,
  credential: string,
): Promise<NodeRow | undefined> {
  const [row] = await db
    .select()
    .from(nodes)
    .where(and(eq(nodes.id, nodeId), eq(nodes.credentialHash, hashSecret(credential))));
  return row;
}

/** Oldest first; the cursor is the id of the last node of the previous page. */
export async function listNodes(
  db: Database,
  filter: { pool?: string | undefined; limit: number; cursor?: string | undefined },
): Promise<Page<Node>> {
  const rows = await db
    .select()
    .from(nodes)
    .where(
      and(
        filter.pool ? eq(nodes.pool, filter.pool) : undefined,
        filter.cursor ? gt(nodes.id, filter.cursor) : undefined,
      ),
    )
    .orderBy(asc(nodes.id))
    .limit(filter.limit + 1);
  const items = rows.slice(0, filter.limit).map(toNode);
  return { items, nextCursor: rows.length > filter.limit ? (items.at(-1)?.id ?? null) : null };
}

export async function getNode(db: Database, id: string): Promise<Node> {
  const [row] = await db.select().from(nodes).where(eq(nodes.id, id));
  if (!row) throw notFound(`node ${id}`);
  return toNode(row);
}

/** No new placements on the node; what runs there keeps running. */
export async function drainNode(db: Database, id: string): Promise<Node> {
  const [row] = await db
    .update(nodes)
    .set({ state: "draining" })
    .where(eq(nodes.id, id))
    .returning();
  if (!row) throw notFound(`node ${id}`);
  return toNode(row);
}

/** Forgets a node. Refused while tasks still run there: stop or move them first. */
export async function deregisterNode(db: Database, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx.select().from(nodes).where(eq(nodes.id, id)).for("update");
    if (!row) throw notFound(`node ${id}`);
    const [busy] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(tasks)
      .where(and(eq(tasks.nodeId, id), ne(tasks.status, "stopped")));
    if ((busy?.n ?? 0) > 0 && row.state !== "down") {
      throw conflict(`node ${id} still runs ${busy?.n} task(s); drain it and stop them first`);
    }
    await tx.delete(nodes).where(eq(nodes.id, id));
  });
}

/**
 * Records a heartbeat (in Redis: heartbeats.ts) and returns the node's state; a node that was
 * down is active again, which is written at once.
 */
export async function recordHeartbeat(
  db: Database,
  redis: Redis,
  row: NodeRow,
  now: Date,
  controlPort?: number,
): Promise<NodeRow["state"]> {
  await noteHeartbeat(redis, row.id, now);
  // The agent's control port moves only when it restarts: written then, not every heartbeat.
  const portMoved = controlPort !== undefined && controlPort !== row.controlPort;
  if (row.state !== "down") {
    if (portMoved) await db.update(nodes).set({ controlPort }).where(eq(nodes.id, row.id));
    return row.state;
  }
  await db
    .update(nodes)
    .set({ lastHeartbeatAt: now, state: "active", ...(portMoved ? { controlPort } : {}) })
    .where(eq(nodes.id, row.id));
  return "active";
}

/**
 * Marks nodes silent for longer than `windowMs` as down and stops their tasks (NodeLost), so
 * services replace them elsewhere. Returns the ids of the nodes it marked.
 */
export async function markLostNodes(
  db: Database,
  redis: Redis,
  now: Date,
  windowMs: number,
): Promise<string[]> {
  await flushHeartbeats(db, redis);
  const cutoff = new Date(now.getTime() - windowMs);
  return db.transaction(async (tx) => {
    const silent = and(ne(nodes.state, "down"), lt(nodes.lastHeartbeatAt, cutoff));
    // Locked in id order first, as placement locks a pool's nodes, so the two never deadlock.
    const locked = await tx
      .select({ id: nodes.id })
      .from(nodes)
      .where(silent)
      .orderBy(asc(nodes.id))
      .for("update");
    if (locked.length === 0) return [];
    const lost = await tx
      .update(nodes)
      .set({
        state: "down",
        allocatedCpu: 0,
        allocatedMemory: 0,
        assignmentsIndex: sql`${nodes.assignmentsIndex} + 1`,
      })
      .where(
        and(
          inArray(
            nodes.id,
            locked.map((row) => row.id),
          ),
          silent,
        ),
      )
      .returning({ id: nodes.id });
    const ids = lost.map((row) => row.id);
    if (ids.length > 0) {
      await tx
        .update(tasks)
        .set({
          status: "stopped",
          desiredStatus: "stopped",
          stopCode: "NodeLost",
          stoppedReason: `the node stopped sending heartbeats for ${Math.round(windowMs / 1000)} s`,
          stoppedAt: now,
        })
        .where(and(inArray(tasks.nodeId, ids), ne(tasks.status, "stopped")));
    }
    return ids;
  });
}
