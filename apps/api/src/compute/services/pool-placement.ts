import { and, asc, eq, inArray, isNotNull, isNull, ne, or, sql } from "drizzle-orm";
import type { Transaction } from "../../db/client.js";
import { nodes, tasks } from "../../db/schema/index.js";
import { type Candidate, chooseNode } from "./placement.js";
import {
  type BatchOutcome,
  countInstances,
  groupBy,
  groupByPool,
  type InstanceMemory,
  type PlaceableTask,
  toCandidate,
  unplaced,
} from "./placement-store.js";

/**
 * Places tasks (rows the transaction holds) that need the whole pool in view: spread, placement
 * constraints, fixed host ports, `distinctHost`, and the plain binpack tasks the fast path found
 * no free node for. Every active node of the pool is locked, in id order so two of these never
 * deadlock, and waited for when another placement holds it; the host ports and siblings on them
 * are read once; then each task is chosen for in memory, what it takes counted in before the
 * next (so no node is over-committed, no host port given twice, `distinctHost` kept). A task
 * that fits nowhere keeps waiting, told why. Returns task id → that reason.
 */
export async function placeOnWholePool(
  tx: Transaction,
  batch: PlaceableTask[],
  outcome: BatchOutcome,
  instanceMemory?: InstanceMemory,
): Promise<Map<string, string>> {
  const reasons = new Map<string, string>();
  for (const group of groupByPool(batch)) {
    const pool = (group[0] as PlaceableTask).pool;
    const candidates = await countInstances(
      (
        await tx
          .select()
          .from(nodes)
          .where(and(eq(nodes.pool, pool), eq(nodes.state, "active")))
          .orderBy(asc(nodes.id))
          .for("update")
      ).map(toCandidate),
      instanceMemory,
    );
    const portsByNode = await usedHostPorts(tx, pool, group);
    const siblings = await countSiblings(tx, pool, group);
    for (const task of group) {
      const family = siblingKey(task);
      for (const node of candidates) {
        node.usedHostPorts = portsByNode.get(node.id) ?? new Set();
        node.siblings = siblings.get(`${node.id} ${family}`) ?? 0;
      }
      const demand = { cpu: task.cpu, memory: task.memory, hostPorts: task.hostPorts };
      const choice = chooseNode(candidates, demand, task.placement);
      if (!choice.ok) {
        reasons.set(task.id, `unable to place: ${choice.reason} in pool ${pool}`);
        continue;
      }
      const node = candidates.find((candidate) => candidate.id === choice.nodeId) as Candidate;
      outcome.place(task, node);
      portsByNode.set(node.id, new Set([...node.usedHostPorts, ...task.hostPorts]));
      siblings.set(`${node.id} ${family}`, node.siblings + 1);
    }
  }
  await outcome.write(tx);
  await tellWhyWaiting(tx, reasons);
  return reasons;
}

/** Tasks of one service, or standalone tasks of one family: what spread and distinctHost count. */
function siblingKey(task: { service: string | null; family: string }): string {
  return task.service === null ? `family:${task.family}` : `service:${task.service}`;
}

/** Tasks holding room on the pool's nodes: placed, and not stopped. */
function placedInPool(pool: string) {
  return and(eq(tasks.pool, pool), isNotNull(tasks.nodeId), ne(tasks.status, "stopped"));
}

/** The fixed host ports held on each node of the pool, read only when the group asks for any. */
async function usedHostPorts(
  tx: Transaction,
  pool: string,
  group: PlaceableTask[],
): Promise<Map<string, Set<number>>> {
  const ports = new Map<string, Set<number>>();
  if (group.every((task) => task.hostPorts.length === 0)) return ports;
  const holders = await tx
    .select({ nodeId: tasks.nodeId, hostPorts: tasks.hostPorts })
    .from(tasks)
    .where(and(placedInPool(pool), sql`cardinality(${tasks.hostPorts}) > 0`));
  for (const { nodeId, hostPorts } of holders)
    ports.set(nodeId as string, new Set([...(ports.get(nodeId as string) ?? []), ...hostPorts]));
  return ports;
}

function countsSiblings(task: PlaceableTask): boolean {
  return (
    task.placement.strategy === "spread" ||
    task.placement.constraints.some((rule) => rule.type === "distinctHost")
  );
}

/** "node siblingKey" → tasks not stopped there, for the group's services and families. */
async function countSiblings(
  tx: Transaction,
  pool: string,
  group: PlaceableTask[],
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (!group.some(countsSiblings)) return counts;
  const services = [...new Set(group.flatMap((task) => (task.service ? [task.service] : [])))];
  const families = [...new Set(group.flatMap((task) => (task.service ? [] : [task.family])))];
  const rows = await tx
    .select({
      nodeId: tasks.nodeId,
      service: tasks.service,
      family: tasks.family,
      count: sql<number>`count(*)::integer`,
    })
    .from(tasks)
    .where(
      and(
        placedInPool(pool),
        or(
          services.length > 0 ? inArray(tasks.service, services) : sql`false`,
          families.length > 0
            ? and(isNull(tasks.service), inArray(tasks.family, families))
            : sql`false`,
        ),
      ),
    )
    .groupBy(tasks.nodeId, tasks.service, tasks.family);
  for (const row of rows) counts.set(`${row.nodeId} ${siblingKey(row)}`, row.count);
  return counts;
}

/** Records why each task still waits, with one statement per distinct reason. */
async function tellWhyWaiting(tx: Transaction, reasons: Map<string, string>): Promise<void> {
  for (const [reason, waiting] of groupBy(reasons, ([, why]) => why)) {
    const ids = waiting.map(([taskId]) => taskId);
    await tx
      .update(tasks)
      .set({ pendingReason: reason })
      .where(
        and(
          inArray(tasks.id, ids),
          unplaced,
          sql`${tasks.pendingReason} is distinct from ${reason}`,
        ),
      );
  }
}
