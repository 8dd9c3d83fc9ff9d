import {
  type Assignments,
  newId,
  type runTaskSchema,
  type StopCode,
  type Task,
  type TaskContainer,
  type TaskReport,
} from "@skiff/shared";
import { and, asc, desc, eq, inArray, lt, lte, ne, sql } from "drizzle-orm";
import type { z } from "zod";
import { type Database, queryRows } from "../../db/client.js";
import { nodes, services, taskDefinitions, tasks } from "../../db/schema/index.js";
import { notFound } from "../../lib/errors.js";
import { placementFor, poolFor } from "./launch-target.js";
import { ensurePoolExists } from "./pools.js";
import { ensureLaunchable, findTaskDefinition } from "./task-definitions.js";

type TaskRow = typeof tasks.$inferSelect;
export type RunTaskInput = z.output<typeof runTaskSchema>;

export function toTask(row: TaskRow): Task {
  return {
    id: row.id,
    family: row.family,
    revision: row.revision,
    status: row.status,
    desiredStatus: row.desiredStatus,
    launchType: row.launchType,
    pool: row.pool,
    nodeId: row.nodeId,
    service: row.service,
    cpu: row.cpu,
    memory: row.memory,
    containers: row.containers,
    pendingReason: row.pendingReason,
    stopCode: row.stopCode,
    stoppedReason: row.stoppedReason,
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    stoppedAt: row.stoppedAt?.toISOString() ?? null,
  };
}

/**
 * Creates `count` tasks of a task definition, all at once or none, in `provisioning`, and returns
 * their ids. The caller then places them (scheduler.ts); those that find no room wait with a reason.
 */
export async function createTasks(
  db: Database,
  input: RunTaskInput,
  extra: { service?: string } = {},
): Promise<string[]> {
  const definition = await findTaskDefinition(db, input.taskDefinition);
  ensureLaunchable(definition, input.launchType);
  const pool = poolFor(input.launchType, input.pool);
  const placement = placementFor(input.launchType, input.placement, "binpack");
  await ensurePoolExists(db, pool);
  const hostPorts = definition.containers.flatMap((container) =>
    (container.portMappings ?? []).flatMap((mapping) =>
      mapping.hostPort ? [mapping.hostPort] : [],
    ),
  );
  const containers: TaskContainer[] = definition.containers.map((container) => ({
    name: container.name,
    image: container.image,
    status: "pending",
    containerId: null,
    exitCode: null,
    reason: null,
    health: "unknown",
    hostPorts: [],
  }));
  const ids = Array.from({ length: input.count }, () => newId("task"));
  // The tasks differ only in their ids: one row of values, repeated by the database, is far
  // cheaper to send than a thousand (a service can launch that many at once).
  await queryRows(
    db,
    sql`
    insert into tasks (id, family, revision, status, desired_status, launch_type, pool, service,
      cpu, memory, host_ports, placement, containers)
    select id, ${definition.family}, ${definition.revision}::integer, 'provisioning', 'running',
      ${input.launchType}, ${pool}, ${extra.service ?? null}, ${definition.cpu}::integer,
      ${definition.memory}::integer, array(select jsonb_array_elements_text(${JSON.stringify(hostPorts)}::jsonb)::integer),
      ${JSON.stringify(placement)}::jsonb, ${JSON.stringify(containers)}::jsonb
    from jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb) as id`,
  );
  return ids;
}

export interface TaskFilter {
  service?: string | undefined;
  status?: TaskRow["status"] | undefined;
  family?: string | undefined;
  nodeId?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** Newest first; the cursor is the id of the last task of the previous page. */
export async function listTasks(db: Database, filter: TaskFilter) {
  const rows = await db
    .select()
    .from(tasks)
    .where(
      and(
        filter.service ? eq(tasks.service, filter.service) : undefined,
        filter.status ? eq(tasks.status, filter.status) : undefined,
        filter.family ? eq(tasks.family, filter.family) : undefined,
        filter.nodeId ? eq(tasks.nodeId, filter.nodeId) : undefined,
        filter.cursor ? lt(tasks.id, filter.cursor) : undefined,
      ),
    )
    .orderBy(desc(tasks.id))
    .limit(filter.limit + 1);
  const items = rows.slice(0, filter.limit).map(toTask);
  return { items, nextCursor: rows.length > filter.limit ? (items.at(-1)?.id ?? null) : null };
}

export async function getTask(db: Database, id: string): Promise<Task> {
  const [row] = await db.select().from(tasks).where(eq(tasks.id, id));
  if (!row) throw notFound(`task ${id}`);
  return toTask(row);
}

/** These tasks, in the order of `ids`; an id with no task is left out. */
export async function getTasks(db: Database, ids: string[]): Promise<Task[]> {
  if (ids.length === 0) return [];
  const rows = await db.select().from(tasks).where(inArray(tasks.id, ids));
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.flatMap((id) => {
    const row = byId.get(id);
    return row ? [toTask(row)] : [];
  });
}

/**
 * Asks a task to stop. A task not on a node yet stops at once; otherwise it is `stopping` until
 * its agent reports the containers gone. Returns the node to wake, if any.
 */
export async function stopTask(
  db: Database,
  id: string,
  stopCode: StopCode,
  reason: string,
  now: Date,
): Promise<{ task: Task; nodeId: string | null }> {
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(tasks).where(eq(tasks.id, id)).for("update");
    if (!row) throw notFound(`task ${id}`);
    if (row.status === "stopped" || row.desiredStatus === "stopped")
      return { task: toTask(row), nodeId: null };
    const placed = row.nodeId !== null;
    const drains = placed && row.status === "running" && (await isLoadBalanced(tx, row.service));
    const [updated] = await tx
      .update(tasks)
      .set({
        desiredStatus: "stopped",
        status: placed ? "stopping" : "stopped",
        stopCode,
        stoppedReason: reason,
        stoppedAt: placed ? null : now,
        drainUntil: drains ? new Date(now.getTime() + deregistrationDelayMs) : null,
      })
      .where(eq(tasks.id, id))
      .returning();
    // A draining task's node hears of the stop once the drain ends (releaseDrainedTasks).
    if (row.nodeId && !drains) await bumpAssignments(tx, row.nodeId);
    return { task: toTask(updated as TaskRow), nodeId: drains ? null : row.nodeId };
  });
}

/** Throws NotFound unless task `taskId` is (or was last) assigned to node `nodeId`. */
export async function ensureTaskOnNode(db: Database, nodeId: string, taskId: string) {
  const [row] = await db
    .select({ id: tasks.id })
    .from(tasks)
    .where(and(eq(tasks.id, taskId), eq(tasks.nodeId, nodeId)));
  if (!row) throw notFound(`task ${taskId} on node ${nodeId}`);
}

/** The ids of the tasks placed on a node and not stopped. */
export async function taskIdsOnNode(db: Database, nodeId: string): Promise<Set<string>> {
  const rows = await db
    .select({ id: tasks.id })
    .from(tasks)
    .where(and(eq(tasks.nodeId, nodeId), ne(tasks.status, "stopped")));
  return new Set(rows.map((row) => row.id));
}

/**
 * Applies a transition an agent saw. Reports for a task already stopped change nothing, so an
 * agent may repeat them. The node's resources are released when the task stops.
 */
export async function applyTaskReport(
  db: Database,
  nodeId: string,
  taskId: string,
  report: TaskReport,
  now: Date,
): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(tasks)
      .where(and(eq(tasks.id, taskId), eq(tasks.nodeId, nodeId)))
      .for("update");
    if (!row) throw notFound(`task ${taskId} on node ${nodeId}`);
    if (row.status === "stopped") return;
    if (report.status !== "stopped") {
      const running = report.status === "running" && row.desiredStatus === "running";
      await tx
        .update(tasks)
        .set({
          containers: report.containers,
          status: running ? "running" : row.status,
          startedAt: running ? (row.startedAt ?? now) : row.startedAt,
        })
        .where(eq(tasks.id, taskId));
      return;
    }
    await tx
      .update(tasks)
      .set({
        containers: report.containers,
        status: "stopped",
        desiredStatus: "stopped",
        stopCode: row.stopCode ?? report.stopCode ?? "EssentialContainerExited",
        stoppedReason: row.stoppedReason ?? report.reason ?? "the task's containers stopped",
        stoppedAt: now,
      })
      .where(eq(tasks.id, taskId));
    await tx
      .update(nodes)
      .set({
        allocatedCpu: sql`greatest(${nodes.allocatedCpu} - ${row.cpu}, 0)`,
        allocatedMemory: sql`greatest(${nodes.allocatedMemory} - ${row.memory}, 0)`,
        assignmentsIndex: sql`${nodes.assignmentsIndex} + 1`,
      })
      .where(eq(nodes.id, nodeId));
  });
}

/** Tells the node's agent (through its long poll) that its assignments changed. */
export async function bumpAssignments(db: Database, nodeId: string): Promise<void> {
  await db
    .update(nodes)
    .set({ assignmentsIndex: sql`${nodes.assignmentsIndex} + 1` })
    .where(eq(nodes.id, nodeId));
}

/** What a node should run or stop now: its tasks that are not stopped yet. */
export async function findAssignments(db: Database, nodeId: string): Promise<Assignments> {
  const [node] = await db
    .select({ index: nodes.assignmentsIndex, state: nodes.state })
    .from(nodes)
    .where(eq(nodes.id, nodeId));
  if (!node) throw notFound(`node ${nodeId}`);
  const rows = await db
    .select({ task: tasks, containers: taskDefinitions.containers })
    .from(tasks)
    .innerJoin(
      taskDefinitions,
      and(eq(taskDefinitions.family, tasks.family), eq(taskDefinitions.revision, tasks.revision)),
    )
    .where(and(eq(tasks.nodeId, nodeId), ne(tasks.status, "stopped")))
    .orderBy(asc(tasks.id));
  return {
    index: node.index,
    nodeState: node.state,
    assignments: rows.map(({ task, containers }) => ({
      taskId: task.id,
      desiredStatus: task.drainUntil ? ("running" as const) : task.desiredStatus,
      family: task.family,
      revision: task.revision,
      service: task.service,
      launchType: task.launchType,
      cpu: task.cpu,
      memory: task.memory,
      containers,
    })),
  };
}

/** Tasks waiting for room, oldest first, for the placement loop. */
export async function findUnplacedTaskIds(db: Database, limit: number): Promise<string[]> {
  const rows = await db
    .select({ id: tasks.id })
    .from(tasks)
    .where(and(eq(tasks.status, "provisioning"), eq(tasks.desiredStatus, "running")))
    .orderBy(asc(tasks.id))
    .limit(limit);
  return rows.map((row) => row.id);
}

/**
 * How long a load-balanced task keeps running after the gateway stopped sending it requests,
 * so requests in flight complete before the task is stopped (ECS's deregistration delay).
 */
export const deregistrationDelayMs = 3_000;

async function isLoadBalanced(db: Database, service: string | null): Promise<boolean> {
  if (!service) return false;
  const [row] = await db
    .select({ loadBalancer: services.loadBalancer })
    .from(services)
    .where(eq(services.name, service));
  return Boolean(row?.loadBalancer);
}

/** Ends the drains that are over, so the nodes stop those tasks. Returns the nodes to wake. */
export async function releaseDrainedTasks(db: Database, now: Date): Promise<string[]> {
  const released = await db
    .update(tasks)
    .set({ drainUntil: null })
    .where(lte(tasks.drainUntil, now))
    .returning({ nodeId: tasks.nodeId });
  const nodeIds = [...new Set(released.flatMap((row) => (row.nodeId ? [row.nodeId] : [])))];
  for (const nodeId of nodeIds) await bumpAssignments(db, nodeId);
  return nodeIds;
}
