import { and, asc, eq, inArray, ne, sql } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { nodes, tasks } from "../db/schema/index.js";
import { type Candidate, chooseNode } from "./placement.js";

export type PlaceResult = { placed: true; nodeId: string } | { placed: false; reason: string };

/**
 * Places one unplaced task. The task's pool's active nodes are locked (in id order, so two
 * replicas placing at once queue rather than deadlock) while free cpu, memory and host ports are
 * read and the choice is written: no node is ever over-committed, whatever runs concurrently.
 */
export async function placeTask(db: Database, taskId: string): Promise<PlaceResult | undefined> {
  return db.transaction(async (tx) => {
    const [task] = await tx
      .select()
      .from(tasks)
      .where(
        and(
          eq(tasks.id, taskId),
          eq(tasks.status, "provisioning"),
          eq(tasks.desiredStatus, "running"),
        ),
      )
      .for("update", { skipLocked: true });
    if (!task) return undefined;

    const locked = await tx
      .select()
      .from(nodes)
      .where(and(eq(nodes.pool, task.pool), eq(nodes.state, "active")))
      .orderBy(asc(nodes.id))
      .for("update");
    const ids = locked.map((node) => node.id);
    const neighbours = ids.length
      ? await tx
          .select({
            nodeId: tasks.nodeId,
            hostPorts: tasks.hostPorts,
            family: tasks.family,
            service: tasks.service,
          })
          .from(tasks)
          .where(and(inArray(tasks.nodeId, ids), ne(tasks.status, "stopped")))
      : [];
    const isSibling = (other: { family: string; service: string | null }) =>
      task.service
        ? other.service === task.service
        : other.family === task.family && other.service === null;
    const candidates: Candidate[] = locked.map((node) => {
      const here = neighbours.filter((other) => other.nodeId === node.id);
      return {
        id: node.id,
        capacity: { cpu: node.capacityCpu, memory: node.capacityMemory },
        allocated: { cpu: node.allocatedCpu, memory: node.allocatedMemory },
        attributes: node.attributes,
        usedHostPorts: new Set(here.flatMap((other) => other.hostPorts)),
        siblings: here.filter(isSibling).length,
      };
    });

    const choice = chooseNode(
      candidates,
      { cpu: task.cpu, memory: task.memory, hostPorts: task.hostPorts },
      task.placement,
    );
    if (!choice.ok) {
      const reason = `unable to place: ${choice.reason} in pool ${task.pool}`;
      if (task.pendingReason !== reason)
        await tx.update(tasks).set({ pendingReason: reason }).where(eq(tasks.id, task.id));
      return { placed: false, reason };
    }
    await tx
      .update(nodes)
      .set({
        allocatedCpu: sql`${nodes.allocatedCpu} + ${task.cpu}`,
        allocatedMemory: sql`${nodes.allocatedMemory} + ${task.memory}`,
        assignmentsIndex: sql`${nodes.assignmentsIndex} + 1`,
      })
      .where(eq(nodes.id, choice.nodeId));
    await tx
      .update(tasks)
      .set({ nodeId: choice.nodeId, status: "pending", pendingReason: null })
      .where(eq(tasks.id, task.id));
    return { placed: true, nodeId: choice.nodeId };
  });
}
