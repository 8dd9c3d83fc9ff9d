import type { ContainerDefinition } from "@skiff/shared";
import { and, desc, eq, gte, inArray, ne, sql } from "drizzle-orm";
import type { Database } from "../../db/client.js";
import {
  nodes,
  serviceDeployments,
  services,
  taskDefinitions,
  tasks,
} from "../../db/schema/index.js";
import { launchTasks } from "./launch-tasks.js";
import type { InstanceMemory } from "./placement-store.js";
import { planService } from "./service-plan.js";
import { addEvent, isFailure, lastEventMessage, startDeployment } from "./services.js";
import { stopTask } from "./tasks.js";

type TaskRow = typeof tasks.$inferSelect;
type DeploymentRow = typeof serviceDeployments.$inferSelect;

/**
 * One pass of the service scheduler for one service: applies a step of `planService`, trips the
 * deployment circuit breaker, and notes steady state. Returns the nodes whose assignments changed.
 */
export async function reconcileService(
  db: Database,
  name: string,
  now: Date,
  instanceMemory?: InstanceMemory,
): Promise<string[]> {
  const [service] = await db.select().from(services).where(eq(services.name, name));
  if (!service) return [];
  const live = await db
    .select()
    .from(tasks)
    .where(and(eq(tasks.service, name), ne(tasks.status, "stopped")));
  const touched = new Set<string>();
  const stop = async (task: TaskRow, reason: string) => {
    const { nodeId } = await stopTask(db, task.id, "ServiceSchedulerInitiated", reason, now);
    if (nodeId) touched.add(nodeId);
  };

  if (service.status === "draining") {
    for (const task of live)
      if (task.desiredStatus === "running") await stop(task, "service deleted");
    if (live.length === 0) await db.delete(services).where(eq(services.name, name));
    return [...touched];
  }

  const deployments = await db
    .select()
    .from(serviceDeployments)
    .where(
      and(
        eq(serviceDeployments.service, name),
        inArray(serviceDeployments.status, ["primary", "active"]),
      ),
    )
    .orderBy(desc(serviceDeployments.id));
  const primary = deployments.find((deployment) => deployment.status === "primary");
  if (!primary) return [];

  const wanted = live.filter((task) => task.desiredStatus === "running");
  const drainingNodes = await findDrainingNodes(db, wanted);
  const healthChecked = await findHealthCheckedContainers(db, wanted);
  const planned = wanted.map((task) => {
    const unhealthy = task.containers.some((container) => container.health === "unhealthy");
    const checks = healthChecked.get(`${task.family}:${task.revision}`) ?? new Set();
    const passing = task.containers.every((c) => c.health === "healthy" || !checks.has(c.name));
    return {
      id: task.id,
      primary: task.family === primary.family && task.revision === primary.revision,
      running: task.status === "running",
      healthy: task.status === "running" && !unhealthy && passing,
      unhealthy,
      onDrainingNode: task.nodeId !== null && drainingNodes.has(task.nodeId),
    };
  });
  const plan = planService({
    desiredCount: service.desiredCount,
    minimumHealthyPercent: service.deploymentConfig.minimumHealthyPercent,
    maximumPercent: service.deploymentConfig.maximumPercent,
    tasks: planned,
  });

  for (const { id, reason } of plan.stop) {
    const task = wanted.find((candidate) => candidate.id === id);
    if (task) await stop(task, reason);
  }
  // Read only when a launch or the circuit breaker needs it: this loop passes every second.
  const breakerWatching =
    service.deploymentConfig.circuitBreaker.enable && primary.rolloutState === "in_progress";
  const failed =
    plan.launch > 0 || breakerWatching ? await findFailedTasks(db, service.name, primary) : [];
  const backoffMs = launchBackoffMs(failed, service.desiredCount, now);
  if (plan.launch > 0 && backoffMs > 0)
    await addEventOnce(
      db,
      name,
      `service ${name} waits ${Math.ceil(backoffMs / 1000)} s before launching tasks again: ` +
        `${failed.length} tasks of ${primary.family}:${primary.revision} failed`,
    );
  else if (plan.launch > 0) {
    const launch = await launchTasks(
      db,
      {
        taskDefinition: `${primary.family}:${primary.revision}`,
        launchType: service.launchType,
        // A fargate service's pool is the platform's, which a request never names.
        ...(service.launchType === "pool" ? { pool: service.pool } : {}),
        count: plan.launch,
        placement: service.placement,
      },
      { service: name, instanceMemory },
    );
    for (const nodeId of launch.placedOn) touched.add(nodeId);
    for (const reason of launch.waitReasons)
      await addEventOnce(db, name, `service ${name} was unable to place a task: ${reason}`);
  }

  await tripCircuitBreaker(db, service, primary, failed.length);
  const primaryHealthy = planned.filter(
    (task) => task.primary && task.healthy && !task.onDrainingNode,
  ).length;
  if (
    // A failed deployment with nothing to roll back to still completes once it is healthy.
    primary.rolloutState !== "completed" &&
    plan.stop.length === 0 &&
    plan.launch === 0 &&
    primaryHealthy === service.desiredCount &&
    planned.length === service.desiredCount
  ) {
    await db
      .update(serviceDeployments)
      .set({ rolloutState: "completed" })
      .where(eq(serviceDeployments.id, primary.id));
    await db
      .update(serviceDeployments)
      .set({ status: "inactive" })
      .where(and(eq(serviceDeployments.service, name), ne(serviceDeployments.id, primary.id)));
    await addEvent(db, name, `service ${name} has reached a steady state.`);
  }
  return [...touched];
}

/**
 * How many failed tasks of a deployment trip its circuit breaker (ECS's rule: half the desired
 * count, at least 3 and at most 10); past it, launches also back off.
 */
function failureThreshold(desiredCount: number): number {
  return Math.min(Math.max(Math.ceil(desiredCount / 2), 3), 10);
}

/** When the deployment's tasks failed to start or exited: what the breaker and back-off count. */
async function findFailedTasks(
  db: Database,
  service: string,
  primary: DeploymentRow,
): Promise<Date[]> {
  const stopped = await db
    .select({ stopCode: tasks.stopCode, stoppedAt: tasks.stoppedAt })
    .from(tasks)
    .where(
      and(
        eq(tasks.service, service),
        eq(tasks.family, primary.family),
        eq(tasks.revision, primary.revision),
        eq(tasks.status, "stopped"),
        gte(tasks.createdAt, primary.createdAt),
      ),
    );
  return stopped.flatMap((task) =>
    isFailure(task.stopCode) && task.stoppedAt ? [task.stoppedAt] : [],
  );
}

const firstBackoffMs = 5_000;
const longestBackoffMs = 5 * 60_000;

/**
 * How long launches of a deployment wait still: once as many of its tasks failed as trip the
 * circuit breaker, each launch waits after the last failure, 5 s doubled per failure past that,
 * at most 5 minutes (ECS throttles a service whose tasks keep failing the same way). This keeps
 * a crashing revision with nothing to roll back to from churning containers on the nodes; a
 * new deployment starts from nothing.
 */
function launchBackoffMs(failedAt: Date[], desiredCount: number, now: Date): number {
  const beyond = failedAt.length - failureThreshold(desiredCount);
  if (beyond < 0) return 0;
  const last = Math.max(...failedAt.map((at) => at.getTime()));
  const delay = Math.min(firstBackoffMs * 2 ** beyond, longestBackoffMs);
  return Math.max(last + delay - now.getTime(), 0);
}

/**
 * After repeated failures of the primary deployment's tasks (`failureThreshold`), the deployment
 * fails and, with rollback on, the last completed revision becomes primary again.
 */
async function tripCircuitBreaker(
  db: Database,
  service: typeof services.$inferSelect,
  primary: DeploymentRow,
  failures: number,
): Promise<void> {
  const breaker = service.deploymentConfig.circuitBreaker;
  if (!breaker.enable || primary.rolloutState !== "in_progress") return;
  if (failures < failureThreshold(service.desiredCount)) return;

  const reason = `${failures} tasks of ${primary.family}:${primary.revision} failed to start or exited`;
  await db
    .update(serviceDeployments)
    .set({ rolloutState: "failed", rolloutReason: reason })
    .where(eq(serviceDeployments.id, primary.id));
  await addEvent(db, service.name, `deployment ${primary.id} failed: ${reason} (circuit breaker)`);
  if (!breaker.rollback) return;
  const [lastGood] = await db
    .select()
    .from(serviceDeployments)
    .where(
      and(
        eq(serviceDeployments.service, service.name),
        eq(serviceDeployments.rolloutState, "completed"),
      ),
    )
    .orderBy(desc(serviceDeployments.id))
    .limit(1);
  if (!lastGood) {
    await addEvent(
      db,
      service.name,
      "no earlier deployment completed, so there is nothing to roll back to",
    );
    return;
  }
  await db
    .update(serviceDeployments)
    .set({ status: "inactive" })
    .where(eq(serviceDeployments.id, primary.id));
  await startDeployment(
    db,
    service.name,
    lastGood.family,
    lastGood.revision,
    `rollback after deployment ${primary.id} failed`,
  );
}

async function addEventOnce(db: Database, service: string, message: string): Promise<void> {
  if ((await lastEventMessage(db, service)) !== message) await addEvent(db, service, message);
}

async function findDrainingNodes(db: Database, live: TaskRow[]): Promise<Set<string>> {
  const ids = [...new Set(live.flatMap((task) => (task.nodeId ? [task.nodeId] : [])))];
  if (ids.length === 0) return new Set();
  const rows = await db
    .select({ id: nodes.id })
    .from(nodes)
    .where(and(inArray(nodes.id, ids), eq(nodes.state, "draining")));
  return new Set(rows.map((row) => row.id));
}

/** `family:revision` -> names of its containers that have a health check. */
async function findHealthCheckedContainers(
  db: Database,
  live: TaskRow[],
): Promise<Map<string, Set<string>>> {
  const refs = [...new Set(live.map((task) => `${task.family}:${task.revision}`))];
  const result = new Map<string, Set<string>>();
  if (refs.length === 0) return result;
  const rows = await db
    .select({
      family: taskDefinitions.family,
      revision: taskDefinitions.revision,
      containers: taskDefinitions.containers,
    })
    .from(taskDefinitions)
    .where(sql`(${taskDefinitions.family} || ':' || ${taskDefinitions.revision}) in ${refs}`);
  for (const row of rows) {
    const checked = row.containers.filter(
      (container: ContainerDefinition) => container.healthCheck,
    );
    result.set(
      `${row.family}:${row.revision}`,
      new Set(checked.map((container) => container.name)),
    );
  }
  return result;
}
