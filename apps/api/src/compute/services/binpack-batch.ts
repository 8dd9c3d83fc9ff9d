import { and, asc, eq, sql } from "drizzle-orm";
import type { Transaction } from "../../db/client.js";
import { nodes } from "../../db/schema/index.js";
import { binpackOrder, type Candidate } from "./placement.js";
import {
  type BatchOutcome,
  countInstances,
  groupByPool,
  type InstanceMemory,
  type PlaceableTask,
  toCandidate,
} from "./placement-store.js";

/**
 * How many nodes beyond one per task a batch locks: binpack picks the fullest of them, and a few
 * spare ones let tasks of different sizes find a fit.
 */
const spareNodes = 16;

/**
 * A task with nothing but cpu and memory to fit, by binpack: the common case, which needs no
 * neighbours (host ports, siblings) and so is placed many at a time by `placeBinpackBatch`.
 */
export function isPlainBinpack(task: PlaceableTask): boolean {
  return (
    task.placement.strategy === "binpack" &&
    task.placement.constraints.length === 0 &&
    task.hostPorts.length === 0
  );
}

/**
 * Places plain binpack tasks (rows the transaction holds) with a handful of statements per pool
 * whatever their number: the fullest active nodes with room are locked, skipping those another
 * placement holds, so concurrent batches fill different nodes and never wait on one another; all
 * choices are made in memory on those fresh, locked rows (so no node is over-committed); then
 * one statement claims the room on every chosen node and assigns every task. A task left
 * out (its nodes were all held or full) is left to pool-placement.ts.
 */
export async function placeBinpackBatch(
  tx: Transaction,
  batch: PlaceableTask[],
  outcome: BatchOutcome,
  instanceMemory?: InstanceMemory,
): Promise<void> {
  for (const group of groupByPool(batch)) {
    // Kept in binpack order as room is taken, so each task takes the first node it fits on.
    const locked = await countInstances(await lockFullestNodes(tx, group), instanceMemory);
    const ranked = locked.sort(binpackOrder);
    for (const task of group) {
      const index = ranked.findIndex((node) => fits(node, task));
      const node = ranked[index];
      if (!node) continue;
      outcome.place(task, node);
      moveUp(ranked, index);
    }
  }
  await outcome.write(tx);
}

function fits(node: Candidate, task: PlaceableTask): boolean {
  return (
    node.capacity.cpu - node.allocated.cpu >= task.cpu &&
    node.capacity.memory - node.allocated.memory >= task.memory
  );
}

/** Restores binpack order after the node at `index` lost room: it can only rank earlier. */
function moveUp(ranked: Candidate[], index: number): void {
  const node = ranked[index] as Candidate;
  let at = index;
  while (at > 0 && binpackOrder(ranked[at - 1] as Candidate, node) > 0) {
    ranked[at] = ranked[at - 1] as Candidate;
    at -= 1;
  }
  ranked[at] = node;
}

/** The fullest active nodes of the group's pool that take its smallest task, locked. */
async function lockFullestNodes(tx: Transaction, group: PlaceableTask[]): Promise<Candidate[]> {
  const minCpu = Math.min(...group.map((task) => task.cpu));
  const minMemory = Math.min(...group.map((task) => task.memory));
  const freeCpu = sql`${nodes.capacityCpu} - ${nodes.allocatedCpu}`;
  const freeMemory = sql`${nodes.capacityMemory} - ${nodes.allocatedMemory}`;
  const rows = await tx
    .select()
    .from(nodes)
    .where(
      and(
        eq(nodes.pool, (group[0] as PlaceableTask).pool),
        eq(nodes.state, "active"),
        sql`${freeCpu} >= ${minCpu}`,
        sql`${freeMemory} >= ${minMemory}`,
      ),
    )
    .orderBy(freeMemory, freeCpu, asc(nodes.id))
    .limit(group.length + spareNodes)
    .for("update", { skipLocked: true });
  return rows.map(toCandidate);
}
