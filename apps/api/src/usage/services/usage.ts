import { queryRows } from "@skiff/registry";
import type { LaunchType, Usage, UsageItem } from "@skiff/shared";
import { sql } from "drizzle-orm";
import type { Database } from "../../db/client.js";
import { usageTotals } from "../../db/schema/index.js";

/** Prices per hour, by launch type, and of functions (Lambda's model, with its free tier). */
export interface Prices {
  fargate: { vcpuHour: number; gbHour: number };
  pool: { vcpuHour: number; gbHour: number };
  functions: FunctionPrices;
}

/** Functions' prices: per request and per GB-second, after a free tier each calendar month. */
export interface FunctionPrices {
  requestPerMillion: number;
  gbSecond: number;
  freeRequests: number;
  freeGbSeconds: number;
}

/** AWS Fargate, Linux/x86, on demand (us-east-1); pool capacity is the user's own: free. */
export const defaultPrices: Prices = {
  fargate: { vcpuHour: 0.04048, gbHour: 0.004445 },
  pool: { vcpuHour: 0, gbHour: 0 },
  // Lambda, x86, us-east-1, and its monthly free tier.
  functions: {
    requestPerMillion: 0.2,
    gbSecond: 0.0000166667,
    freeRequests: 1_000_000,
    freeGbSeconds: 400_000,
  },
};

/**
 * Metered time of tasks over [from, to): each task from its start until it stopped (or now),
 * billed per second with a one-minute minimum as Fargate bills, times its reserved vCPUs and
 * GB. Pool tasks are metered the same way, as the cpu and memory they reserve. Tasks removed
 * after the retention window are metered from their `task_usage` rows, so nothing is lost.
 */
export async function meterUsage(
  db: Database,
  window: { from: Date; to: Date; groupBy: "service" | "task" },
  now: Date,
  prices: Prices,
): Promise<Usage> {
  const from = window.from.toISOString();
  const to = window.to.toISOString();
  const rows = await meterRuns(db, { from, to, groupBy: window.groupBy, archived: true }, now);
  return toUsage(from, to, rows, prices);
}

/**
 * Usage since the beginning, per service and launch type, for /v1/metrics: the running sums of
 * removed tasks (`usage_totals`, one row per service) plus the tasks still kept, so a scrape
 * reads what the retention window keeps rather than the whole history.
 */
export async function meterTotals(db: Database, now: Date, prices: Prices): Promise<Usage> {
  const from = new Date(0).toISOString();
  const to = now.toISOString();
  const kept = await meterRuns(db, { from, to, groupBy: "service", archived: false }, now);
  const removed = await db.select().from(usageTotals);
  const sums = new Map<string, MeteredRow>();
  for (const row of [
    ...kept,
    ...removed.map((total) => ({
      key: total.key,
      launchType: total.launchType,
      vcpuSeconds: total.vcpuSeconds,
      gbSeconds: total.gbSeconds,
    })),
  ]) {
    const id = `${row.launchType} ${row.key}`;
    const sum = sums.get(id);
    if (sum) {
      sum.vcpuSeconds = Number(sum.vcpuSeconds) + Number(row.vcpuSeconds);
      sum.gbSeconds = Number(sum.gbSeconds) + Number(row.gbSeconds);
    } else sums.set(id, { ...row });
  }
  const rows = [...sums.values()].sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : a.launchType < b.launchType ? -1 : 1,
  );
  return toUsage(from, to, rows, prices);
}

interface MeteredRow {
  key: string;
  launchType: LaunchType;
  vcpuSeconds: number | string;
  gbSeconds: number | string;
}

/** Sums metered seconds of the runs that overlap [from, to), from `tasks` and, if asked, `task_usage`. */
async function meterRuns(
  db: Database,
  window: { from: string; to: string; groupBy: "service" | "task"; archived: boolean },
  now: Date,
): Promise<MeteredRow[]> {
  const { from, to } = window;
  const kept = sql`
    select id, service, family, launch_type, cpu, memory, started_at, stopped_at from tasks
    where started_at is not null and started_at < ${to}::timestamptz
      and coalesce(stopped_at, ${now.toISOString()}::timestamptz) > ${from}::timestamptz`;
  const removed = sql`
    select task_id, service, family, launch_type, cpu, memory, started_at, stopped_at
    from task_usage
    where started_at < ${to}::timestamptz and stopped_at > ${from}::timestamptz`;
  const runs = window.archived ? sql`${kept} union all ${removed}` : kept;
  const key =
    window.groupBy === "task"
      ? sql.raw("id")
      : sql.raw("coalesce(service, 'standalone/' || family)");
  const ended = sql`coalesce(stopped_at, ${now.toISOString()}::timestamptz)`;
  const overlap = sql`greatest(extract(epoch from (least(${ended}, ${to}::timestamptz) - greatest(started_at, ${from}::timestamptz))), 0)`;
  // The one-minute minimum tops up a short run, in the window where the run started.
  const topUp = sql`case when started_at >= ${from}::timestamptz then greatest(60 - extract(epoch from (${ended} - started_at)), 0) else 0 end`;
  const seconds = sql`(${overlap} + ${topUp})`;
  const rows = await queryRows<{
    key: string;
    launch_type: LaunchType;
    vcpu_seconds: string;
    gb_seconds: string;
  }>(
    db,
    sql`
      select ${key} as key, launch_type,
        sum(${seconds} * cpu / 1024.0) as vcpu_seconds,
        sum(${seconds} * memory / 1024.0) as gb_seconds
      from (${runs}) as runs
      group by 1, 2
      order by 1, 2`,
  );
  return rows.map((row) => ({
    key: row.key,
    launchType: row.launch_type,
    vcpuSeconds: row.vcpu_seconds,
    gbSeconds: row.gb_seconds,
  }));
}

function toUsage(from: string, to: string, rows: MeteredRow[], prices: Prices): Usage {
  const items: UsageItem[] = rows.map((row) => {
    const vcpuSeconds = round(Number(row.vcpuSeconds));
    const gbSeconds = round(Number(row.gbSeconds));
    return {
      key: row.key,
      launchType: row.launchType,
      vcpuSeconds,
      gbSeconds,
      cost: costOf(row.launchType, vcpuSeconds, gbSeconds, prices),
    };
  });
  const total = items.reduce(
    (sum, item) => ({
      vcpuSeconds: round(sum.vcpuSeconds + item.vcpuSeconds),
      gbSeconds: round(sum.gbSeconds + item.gbSeconds),
      cost: round(sum.cost + item.cost, 6),
    }),
    { vcpuSeconds: 0, gbSeconds: 0, cost: 0 },
  );
  return { from, to, currency: "USD", total, items };
}

function costOf(type: LaunchType, vcpuSeconds: number, gbSeconds: number, prices: Prices) {
  const price = prices[type];
  return round((vcpuSeconds / 3600) * price.vcpuHour + (gbSeconds / 3600) * price.gbHour, 6);
}

function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** The start of `now`'s month, UTC. */
export function startOfMonth(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

/** Usage since the beginning as Prometheus counters (text exposition format 0.0.4). */
export function toPrometheus(usage: Usage): string {
  const lines: string[] = [];
  const counters = [
    [
      "skiff_task_vcpu_seconds_total",
      "vcpuSeconds",
      "Reserved vCPU-seconds of tasks, metered per second with a one-minute minimum",
    ],
    [
      "skiff_task_gb_seconds_total",
      "gbSeconds",
      "Reserved GB-seconds of tasks, metered per second with a one-minute minimum",
    ],
    ["skiff_task_cost_usd_total", "cost", "Cost of tasks at the configured prices, in USD"],
  ] as const;
  for (const [name, field, help] of counters) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
    for (const item of usage.items) {
      const labels = `service="${escapeLabel(item.key)}",launch_type="${item.launchType}"`;
      lines.push(`${name}{${labels}} ${item[field]}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
