import type { Placement } from "@skiff/shared";
import { and, asc, eq, inArray, ne, sql } from "drizzle-orm";
import type { Database, Transaction } from "../db/client.js";
import { nodes, tasks } from "../db/schema/index.js";
import { isPlainBinpack, placeableColumns, placeBinpackBatch } from "./binpack-batch.js";
import { type Candidate, chooseNode } from "./placement.js";

export type PlaceResult = { placed: true; nodeId: string } | { placed: false; reason: string };

type TaskRow = typeof tasks.$inferSelect;

/**
 * How many of the fullest nodes a plain binpack placement (no constraints, no host ports) looks
 * at first; only when none of them takes the task are all the pool's nodes read.
 */
const binpackShortlist = 16;

/** Why a claim on a node failed: the node is being claimed by another placement, or is full. */
class ClaimFailed extends Error {
  constructor(readonly busy: boolean) {
    super(busy ? "node busy" : "node taken");
  }
}

/** Tasks waiting for a node: in provisioning, and still wanted. */
const unplaced = and(eq(tasks.status, "provisioning"), eq(tasks.desiredStatus, "running"));

/** How many tasks one placement transaction takes at most. */
const batchSize = 1_000;

/**
 * Places unplaced tasks, returning what became of each (nothing for a task another placement
 * holds, or one already placed or stopped). Plain binpack tasks go first, together, in short
 * transactions (`placeBinpackBatch`); the rest, and any the batch found no free node for, one by
 * one with `placeTask`, which waits for a busy node when it must and names why a task waits. Once
 * a plain task is found to have no room, the others of its pool and size are told the same reason
 * without reading the pool again.
 */
export async function placeTasks(
  db: Database,
  taskIds: string[],
): Promise<Map<string, PlaceResult>> {
  const results = new Map<string, PlaceResult>();
  for (let start = 0; start < taskIds.length; start += batchSize) {
    const chunk = taskIds.slice(start, start + batchSize);
    const { rows, placedOn } = await db.transaction(async (tx) => {
      const rows = await tx
        .select(placeableColumns)
        .from(tasks)
        .where(and(inArray(tasks.id, chunk), unplaced))
        .for("update", { skipLocked: true });
      return { rows, placedOn: await placeBinpackBatch(tx, rows.filter(isPlainBinpack)) };
    });
    for (const [taskId, nodeId] of placedOn) results.set(taskId, { placed: true, nodeId });
    const noRoom = new Map<string, PlaceResult>();
    const sameReason = new Map<string, string[]>();
    for (const task of rows) {
      if (placedOn.has(task.id)) continue;
      const shape = isPlainBinpack(task) ? `${task.pool}/${task.cpu}/${task.memory}` : undefined;
      const known = shape === undefined ? undefined : noRoom.get(shape);
      if (known && !known.placed) {
        results.set(task.id, known);
        sameReason.set(known.reason, [...(sameReason.get(known.reason) ?? []), task.id]);
        continue;
      }
      const result = await placeTask(db, task.id);
      if (!result) continue;
      results.set(task.id, result);
      if (shape !== undefined && !result.placed) noRoom.set(shape, result);
    }
    for (const [reason, ids] of sameReason) await setPendingReason(db, ids, reason);
  }
  return results;
}

/** Tells tasks still waiting why they wait. */
async function setPendingReason(db: Database, ids: string[], reason: string): Promise<void> {
  await db
    .update(tasks)
    .set({ pendingReason: reason })
    .where(
      and(inArray(tasks.id, ids), unplaced, sql`${tasks.pendingReason} is distinct from ${reason}`),
    );
}

/**
 * Places one unplaced task. Nodes are read without locks and one is chosen; the choice is then
 * written by one conditional update of that node alone (still active, still enough free cpu and
 * memory) which holds its row lock while its host ports and `distinctHost` are checked again.
 * So no node is ever over-committed whatever runs concurrently. A node another placement holds
 * at that moment is passed over for the next best (so concurrent binpack placements fill the
 * few fullest nodes side by side instead of queueing on one), and waited for only when no other
 * node takes the task; a node found full or taken is dropped.
 */
export async function placeTask(db: Database, taskId: string): Promise<PlaceResult | undefined> {
  return db.transaction(async (tx) => {
    const [task] = await tx
      .select()
      .from(tasks)
      .where(and(eq(tasks.id, taskId), unplaced))
      .for("update", { skipLocked: true });
    if (!task) return undefined;

    const demand = { cpu: task.cpu, memory: task.memory, hostPorts: task.hostPorts };
    // Binpack with nothing but cpu and memory to check picks among the fullest nodes that fit,
    // so a few of them are enough; all are read when those few are taken, or to name a reason.
    let everyNode = !isPlainBinpack(task);
    let candidates = await findCandidates(tx, task, everyNode ? undefined : binpackShortlist);
    const busy: Candidate[] = [];
    let wait = false;
    for (;;) {
      const choice = chooseNode(candidates, demand, task.placement);
      if (!choice.ok && busy.length > 0) {
        candidates.push(...busy.splice(0));
        wait = true;
        continue;
      }
      if (!choice.ok && !everyNode) {
        everyNode = true;
        candidates = await findCandidates(tx, task, undefined);
        continue;
      }
      if (!choice.ok) {
        const reason = `unable to place: ${choice.reason} in pool ${task.pool}`;
        if (task.pendingReason !== reason)
          await tx.update(tasks).set({ pendingReason: reason }).where(eq(tasks.id, task.id));
        return { placed: false, reason };
      }
      try {
        await claimNode(tx, task, choice.nodeId, wait);
        return { placed: true, nodeId: choice.nodeId };
      } catch (error) {
        if (!(error instanceof ClaimFailed)) throw error;
        const node = candidates.find((candidate) => candidate.id === choice.nodeId);
        candidates = candidates.filter((candidate) => candidate !== node);
        if (error.busy && node) busy.push(node);
      }
    }
  });
}

/**
 * The pool's active nodes as the scheduler sees them, unlocked. With `shortlist`, only that many
 * of the fullest (binpack's order) that have room for the task; neighbours (host ports held,
 * siblings) are read only when the placement needs them.
 */
async function findCandidates(
  tx: Transaction,
  task: TaskRow,
  shortlist: number | undefined,
): Promise<Candidate[]> {
  const freeCpu = sql`${nodes.capacityCpu} - ${nodes.allocatedCpu}`;
  const freeMemory = sql`${nodes.capacityMemory} - ${nodes.allocatedMemory}`;
  const inPool = and(eq(nodes.pool, task.pool), eq(nodes.state, "active"));
  const rows =
    shortlist === undefined
      ? await tx.select().from(nodes).where(inPool)
      : await tx
          .select()
          .from(nodes)
          .where(and(inPool, sql`${freeCpu} >= ${task.cpu}`, sql`${freeMemory} >= ${task.memory}`))
          .orderBy(freeMemory, freeCpu, asc(nodes.id))
          .limit(shortlist);
  const neighbours =
    rows.length > 0 && needsNeighbours(task.placement, task.hostPorts)
      ? await findNeighbours(
          tx,
          task,
          rows.map((node) => node.id),
        )
      : [];
  return rows.map((node) => {
    const here = neighbours.filter((other) => other.nodeId === node.id);
    return {
      id: node.id,
      capacity: { cpu: node.capacityCpu, memory: node.capacityMemory },
      allocated: { cpu: node.allocatedCpu, memory: node.allocatedMemory },
      attributes: node.attributes,
      usedHostPorts: new Set(here.flatMap((other) => other.hostPorts)),
      siblings: here.filter((other) => isSibling(task, other)).length,
    };
  });
}

function needsNeighbours(placement: Placement, hostPorts: number[]): boolean {
  return (
    hostPorts.length > 0 ||
    placement.strategy === "spread" ||
    placement.constraints.some((rule) => rule.type === "distinctHost")
  );
}

/** The tasks not stopped on these nodes, for host ports and siblings. */
function findNeighbours(tx: Transaction, task: TaskRow, nodeIds: string[]) {
  return tx
    .select({
      nodeId: tasks.nodeId,
      hostPorts: tasks.hostPorts,
      family: tasks.family,
      service: tasks.service,
    })
    .from(tasks)
    .where(and(inArray(tasks.nodeId, nodeIds), ne(tasks.status, "stopped"), ne(tasks.id, task.id)));
}

function isSibling(task: TaskRow, other: { family: string; service: string | null }): boolean {
  return task.service
    ? other.service === task.service
    : other.family === task.family && other.service === null;
}

/**
 * Takes room on `nodeId` for the task, or throws ClaimFailed leaving nothing changed and no lock
 * held. One update re-checks state and free resources on the row's latest version and keeps its
 * lock; unless `wait`, a node locked by someone else is not waited for (busy; a node found full
 * that way reads as busy too, and is sorted out if it is ever waited for). When host ports or
 * `distinctHost` matter they are checked under that lock on fresh data (every placement onto the
 * node holds it), inside a savepoint so a failed check releases the lock.
 */
async function claimNode(
  tx: Transaction,
  task: TaskRow,
  nodeId: string,
  wait: boolean,
): Promise<void> {
  const hasRoom = and(
    eq(nodes.id, nodeId),
    eq(nodes.pool, task.pool),
    eq(nodes.state, "active"),
    sql`${nodes.capacityCpu} - ${nodes.allocatedCpu} >= ${task.cpu}`,
    sql`${nodes.capacityMemory} - ${nodes.allocatedMemory} >= ${task.memory}`,
  );
  const target = wait
    ? hasRoom
    : sql`${nodes.id} = (${tx
        .select({ id: nodes.id })
        .from(nodes)
        .where(hasRoom)
        .for("update", { skipLocked: true })})`;
  const checkNeighbours = needsNeighbours(task.placement, task.hostPorts);
  const claim = async (scope: Transaction) => {
    const claimed = await scope
      .update(nodes)
      .set({
        allocatedCpu: sql`${nodes.allocatedCpu} + ${task.cpu}`,
        allocatedMemory: sql`${nodes.allocatedMemory} + ${task.memory}`,
        assignmentsIndex: sql`${nodes.assignmentsIndex} + 1`,
      })
      .where(target)
      .returning({ id: nodes.id });
    // No row changed, so no lock is held.
    if (claimed.length === 0) throw new ClaimFailed(!wait);
    if (checkNeighbours) {
      const here = await findNeighbours(scope, task, [nodeId]);
      const portTaken = here.some((other) =>
        other.hostPorts.some((port) => task.hostPorts.includes(port)),
      );
      const distinctHost = task.placement.constraints.some((rule) => rule.type === "distinctHost");
      if (portTaken || (distinctHost && here.some((other) => isSibling(task, other))))
        throw new ClaimFailed(false);
    }
    await scope
      .update(tasks)
      .set({ nodeId, status: "pending", pendingReason: null })
      .where(eq(tasks.id, task.id));
  };
  if (checkNeighbours) await tx.transaction(claim);
  else await claim(tx);
}
