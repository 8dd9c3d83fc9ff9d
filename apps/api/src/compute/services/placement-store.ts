import type { Resources } from "@skiff/shared";
import { and, eq, inArray, sql } from "drizzle-orm";
import { queryRows, type Transaction } from "../../db/client.js";
import { type nodes, tasks } from "../../db/schema/index.js";
import type { Candidate } from "./placement.js";

/**
 * The database side of placement shared by its two paths (binpack-batch.ts, pool-placement.ts):
 * what is read of a task, node rows as candidates, and the writes of a batch's outcome.
 */
export const placeableColumns = {
  id: tasks.id,
  pool: tasks.pool,
  family: tasks.family,
  service: tasks.service,
  cpu: tasks.cpu,
  memory: tasks.memory,
  hostPorts: tasks.hostPorts,
  placement: tasks.placement,
};
type TaskRow = typeof tasks.$inferSelect;
/** A task as placement reads it: only these columns, as a batch reads a thousand at a time. */
export type PlaceableTask = { [column in keyof typeof placeableColumns]: TaskRow[column] };

/** Tasks waiting for a node: in provisioning, and still wanted. */
export const unplaced = and(eq(tasks.status, "provisioning"), eq(tasks.desiredStatus, "running"));

/** These tasks if they still wait for a node, locked; those another placement holds are skipped. */
export function lockUnplaced(tx: Transaction, taskIds: string[]): Promise<PlaceableTask[]> {
  return tx
    .select(placeableColumns)
    .from(tasks)
    .where(and(inArray(tasks.id, taskIds), unplaced))
    .for("update", { skipLocked: true });
}

/** `items` grouped by `key`, in the order each key first appears. */
export function groupBy<T, K>(items: Iterable<T>, key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const group = groups.get(key(item)) ?? [];
    group.push(item);
    groups.set(key(item), group);
  }
  return groups;
}

export function groupByPool<T extends { pool: string }>(batch: T[]): T[][] {
  return [...groupBy(batch, (task) => task.pool).values()];
}

export function toCandidate(node: typeof nodes.$inferSelect): Candidate {
  return {
    id: node.id,
    capacity: { cpu: node.capacityCpu, memory: node.capacityMemory },
    allocated: { cpu: node.allocatedCpu, memory: node.allocatedMemory },
    attributes: node.attributes,
    usedHostPorts: new Set(),
    siblings: 0,
  };
}

/**
 * MiB that function instances hold per node: they share the fargate nodes with tasks but are
 * counted in Redis (functions/services/router.ts), not in the node rows.
 */
export type InstanceMemory = (nodeIds: string[]) => Promise<Map<string, number>>;

/** The candidates with what function instances hold on them counted as allocated. */
export async function countInstances(
  candidates: Candidate[],
  instanceMemory: InstanceMemory | undefined,
): Promise<Candidate[]> {
  if (!instanceMemory || candidates.length === 0) return candidates;
  const held = await instanceMemory(candidates.map((node) => node.id));
  for (const node of candidates) {
    const memory = held.get(node.id) ?? 0;
    if (memory > 0) node.allocated = { ...node.allocated, memory: node.allocated.memory + memory };
  }
  return candidates;
}

/** What a batch decided: the nodes its tasks go to, and the room it takes on each. */
export class BatchOutcome {
  readonly placedOn = new Map<string, string>();
  private readonly claims = new Map<string, Resources>();

  place(task: PlaceableTask, node: Candidate): void {
    node.allocated = {
      cpu: node.allocated.cpu + task.cpu,
      memory: node.allocated.memory + task.memory,
    };
    const claim = this.claims.get(node.id) ?? { cpu: 0, memory: 0 };
    this.claims.set(node.id, { cpu: claim.cpu + task.cpu, memory: claim.memory + task.memory });
    this.placedOn.set(task.id, node.id);
  }

  /** One statement: the room taken on every chosen node, and every task given its node. */
  async write(tx: Transaction): Promise<void> {
    if (this.placedOn.size === 0) return;
    const claimRows = [...this.claims].map(
      ([id, room]) => sql`(${id}::text, ${room.cpu}::integer, ${room.memory}::integer)`,
    );
    const assignmentRows = [...this.placedOn].map(
      ([taskId, nodeId]) => sql`(${taskId}::text, ${nodeId}::text)`,
    );
    await queryRows(
      tx,
      sql`
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
      where tasks.id = assignment.id`,
    );
  }
}
