import { queryRows } from "@skiff/registry";
import { sql } from "drizzle-orm";
import type { Database } from "../../db/client.js";

/** Seconds a run is metered for since the beginning: per second, with a one-minute minimum. */
const meteredSeconds = sql.raw("greatest(extract(epoch from (stopped_at - started_at)), 60)");

/**
 * Removes up to `batchSize` tasks that stopped before `cutoff`, oldest first, and in the same
 * statement keeps what metering needs of them: a `task_usage` row each (windows of /v1/usage)
 * and their seconds added to `usage_totals` (counters of /v1/metrics). A task is thus always in
 * exactly one of `tasks` and `task_usage`, so metering is the same before and after. Rows
 * another replica is removing are skipped. Returns how many were removed.
 */
export async function removeStoppedTasks(
  db: Database,
  cutoff: Date,
  batchSize: number,
): Promise<number> {
  const rows = await queryRows<{ removed: number }>(
    db,
    sql`
      with doomed as (
        select id from tasks
        where status = 'stopped' and stopped_at < ${cutoff.toISOString()}::timestamptz
        order by stopped_at
        limit ${batchSize}
        for update skip locked
      ),
      removed as (
        delete from tasks using doomed where tasks.id = doomed.id
        returning tasks.id, tasks.service, tasks.family, tasks.launch_type, tasks.cpu,
          tasks.memory, tasks.started_at, tasks.stopped_at
      ),
      metered as (
        select * from removed where started_at is not null and stopped_at is not null
      ),
      kept as (
        insert into task_usage
          (task_id, service, family, launch_type, cpu, memory, started_at, stopped_at)
        select id, service, family, launch_type, cpu, memory, started_at, stopped_at
        from metered
        on conflict (task_id) do nothing
      ),
      totals as (
        insert into usage_totals (key, launch_type, vcpu_seconds, gb_seconds)
        select coalesce(service, 'standalone/' || family), launch_type,
          sum(${meteredSeconds} * cpu / 1024.0), sum(${meteredSeconds} * memory / 1024.0)
        from metered
        group by 1, 2
        on conflict (key, launch_type) do update set
          vcpu_seconds = usage_totals.vcpu_seconds + excluded.vcpu_seconds,
          gb_seconds = usage_totals.gb_seconds + excluded.gb_seconds
      )
      select count(*)::int as removed from removed
    `,
  );
  return Number(rows[0]?.removed ?? 0);
}

/** Removes every task stopped before `cutoff`, batch after batch; `beforeBatch` may end it. */
export async function removeStoppedTasksBefore(
  db: Database,
  cutoff: Date,
  options: { batchSize?: number; beforeBatch?: () => Promise<void> } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 1000;
  let total = 0;
  for (;;) {
    await options.beforeBatch?.();
    const removed = await removeStoppedTasks(db, cutoff, batchSize);
    total += removed;
    if (removed < batchSize) return total;
  }
}
