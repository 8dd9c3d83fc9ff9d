import type { Resources } from "@skiff/shared";
import { and, asc, eq, sql } from "drizzle-orm";
import type { Transaction } from "../db/client.js";
import { nodes, tasks } from "../db/schema/index.js";
import { binpackOrder, type Candidate } from "./placement.js";

/** What placing a task reads of it: only these, as a batch reads a thousand at a time. */
export const placeableColumns = {
  id: tasks.id,
  pool: tasks.pool,
  cpu: tasks.cpu,
  memory: tasks.memory,
  hostPorts: tasks.hostPorts,
  placement: tasks.placement,
};
type PlaceableTask = { [column in keyof typeof placeableColumns]: TaskRow[column] };
type TaskRow = typeof tasks.$inferSelect;

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
 * out (its nodes were all held or full) is the caller's to place one by one. Returns task id →
 * node id for those placed.
 */
export async function placeBinpackBatch(
  tx: Transaction,
  batch: PlaceableTask[],
): Promise<Map<string, string>> {
  const placedOn = new Map<string, string>();
  const claims = new Map<string, Resources>();
  for (const group of groupByPool(batch)) {
    // Kept in binpack order as room is taken, so each task takes the first node it fits on.
    const ranked = (await lockFullestNodes(tx, group)).sort(binpackOrder);
    for (const task of group) {
      const index = ranked.findIndex((node) => fits(node, task));
      const node = ranked[index];
      if (!node) continue;
      node.allocated = {
        cpu: node.allocated.cpu + task.cpu,
        memory: node.allocated.memory + task.memory,
      };
      moveUp(ranked, index);
      const claim = claims.get(node.id) ?? { cpu: 0, memory: 0 };
      claims.set(node.id, { cpu: claim.cpu + task.cpu, memory: claim.memory + task.memory });
      placedOn.set(task.id, node.id);
    }
  }
  await claimAndAssign(tx, claims, placedOn);
  return placedOn;
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

function groupByPool(batch: PlaceableTask[]): PlaceableTask[][] {
  const groups = new Map<string, PlaceableTask[]>();
  for (const task of batch) groups.set(task.pool, [...(groups.get(task.pool) ?? []), task]);
  return [...groups.values()];
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
  return rows.map((node) => ({
    id: node.id,
    capacity: { cpu: node.capacityCpu, memory: node.capacityMemory },
    allocated: { cpu: node.allocatedCpu, memory: node.allocatedMemory },
    attributes: node.attributes,
    usedHostPorts: new Set(),
    siblings: 0,
  }));
}

/** One statement: the room taken on every chosen node, and every task given its node. */
async function claimAndAssign(
  tx: Transaction,
  claims: Map<string, Resources>,
  placedOn: Map<string, string>,
): Promise<void> {
  if (placedOn.size === 0) return;
  const claimRows = [...claims].map(
    ([id, room]) => sql`(${id}::text, ${room.cpu}::integer, ${room.memory}::integer)`,
  );
  const assignmentRows = [...placedOn].map(
    ([taskId, nodeId]) => sql`(${taskId}::text, ${nodeId}::text)`,
  );
  await tx.execute(sql`
    with claimed as (
      update nodes set
        allocated_cpu = nodes.allocated_cpu + claim.cpu,
        allocated_memory = nodes.allocated_memory + claim.memory,
        assignments_index = nodes.assignments_index + 1
      from (values ${sql.join(claimRows, sql`, `)}) as claim (id, cpu, memory)
      where nodes.id = claim.id
    )
    update tasks set node_id = assignment.node_id, status = 'pending', pending_reason = null
    from (values ${sql.join(assignmentRows, sql`, `)}) as assignment (id, node_id)
    where tasks.id = assignment.id`);
}
