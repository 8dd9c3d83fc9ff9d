import { queryRows } from "@skiff/registry";
import type { Service } from "@skiff/shared";
import { and, desc, inArray, sql } from "drizzle-orm";
import type { Database } from "../../db/client.js";
import { serviceDeployments, type services, tasks } from "../../db/schema/index.js";

type ServiceRow = typeof services.$inferSelect;

/** Stop codes that count against a deployment's circuit breaker. */
export const failureStopCodes = ["TaskFailedToStart", "EssentialContainerExited"] as const;

const liveStatuses = ["provisioning", "pending", "running", "stopping"] as const;

/** Events shown with a service, newest first. */
const eventsShown = 20;

/**
 * The API view of services, read in a fixed number of queries for any number of them: task
 * counts by status come from SQL over the tasks that have not stopped, failed tasks are counted
 * per deployment since it began, and only the newest events are read. Nothing reads a service's
 * whole task history, which grows with every replacement.
 */
export async function toServices(db: Database, rows: ServiceRow[]): Promise<Service[]> {
  if (rows.length === 0) return [];
  const names = rows.map((row) => row.name);
  const deployments = await db
    .select()
    .from(serviceDeployments)
    .where(
      and(
        inArray(serviceDeployments.service, names),
        inArray(serviceDeployments.status, ["primary", "active"]),
      ),
    )
    .orderBy(desc(serviceDeployments.id));
  const counts = await db
    .select({
      service: tasks.service,
      family: tasks.family,
      revision: tasks.revision,
      status: tasks.status,
      n: sql<number>`count(*)::int`,
    })
    .from(tasks)
    // `in` rather than `<> 'stopped'`: the (service, status) index then skips the history.
    .where(and(inArray(tasks.service, names), inArray(tasks.status, liveStatuses)))
    .groupBy(tasks.service, tasks.family, tasks.revision, tasks.status);
  const deploymentIds = deployments.map((deployment) => deployment.id);
  const failed =
    deploymentIds.length === 0
      ? []
      : await queryRows<{ id: string; n: number }>(
          db,
          sql`
            select d.id, count(t.id)::int as n
            from service_deployments d
            join tasks t on t.service = d.service and t.family = d.family
              and t.revision = d.revision and t.status in ('stopping', 'stopped')
              and t.created_at >= d.created_at
              and t.stop_code in (${sql.join(
                failureStopCodes.map((code) => sql`${code}`),
                sql`, `,
              )})
            where d.id in (${sql.join(
              deploymentIds.map((id) => sql`${id}`),
              sql`, `,
            )})
            group by d.id`,
        );
  const events = await queryRows<{
    id: string;
    service: string;
    message: string;
    created_at: string | Date;
  }>(
    db,
    sql`
      select e.id, e.service, e.message, e.created_at
      from (values ${sql.join(
        names.map((name) => sql`(${name})`),
        sql`, `,
      )}) as wanted(name)
      cross join lateral (
        select id, service, message, created_at from service_events
        where service = wanted.name
        order by id desc
        limit ${eventsShown}
      ) e
      order by e.id desc`,
  );
  const failedBy = new Map(failed.map((row) => [row.id, Number(row.n)]));
  const pendingStates = new Set(["provisioning", "pending"]);
  return rows.map((row) => {
    const mine = counts.filter((count) => count.service === row.name);
    const count = (statuses: (status: string) => boolean, family?: string, revision?: number) =>
      mine
        .filter(
          (task) =>
            statuses(task.status) &&
            (family === undefined || (task.family === family && task.revision === revision)),
        )
        .reduce((sum, task) => sum + task.n, 0);
    const running = (status: string) => status === "running";
    const pending = (status: string) => pendingStates.has(status);
    const own = deployments.filter((deployment) => deployment.service === row.name);
    const primary = own.find((deployment) => deployment.status === "primary");
    return {
      name: row.name,
      status: row.status,
      taskDefinition: primary ? `${primary.family}:${primary.revision}` : "",
      desiredCount: row.desiredCount,
      runningCount: count(running),
      pendingCount: count(pending),
      launchType: row.launchType,
      pool: row.pool,
      deployment: row.deploymentConfig,
      placement: row.placement,
      loadBalancer: row.loadBalancer ?? null,
      deployments: own.map((deployment) => ({
        id: deployment.id,
        taskDefinition: `${deployment.family}:${deployment.revision}`,
        status: deployment.status,
        rolloutState: deployment.rolloutState,
        rolloutReason: deployment.rolloutReason,
        runningCount: count(running, deployment.family, deployment.revision),
        pendingCount: count(pending, deployment.family, deployment.revision),
        failedTasks: failedBy.get(deployment.id) ?? 0,
        createdAt: deployment.createdAt.toISOString(),
      })),
      events: events
        .filter((event) => event.service === row.name)
        .map((event) => ({
          id: event.id,
          message: event.message,
          createdAt: new Date(event.created_at).toISOString(),
        })),
      createdAt: row.createdAt.toISOString(),
    };
  });
}
