import type { LaunchType, Usage, UsageItem } from "@skiff/shared";
import { and, gt, isNotNull, lt, sql } from "drizzle-orm";
import type { Database } from "../../db/client.js";
import { tasks } from "../../db/schema/index.js";

/** Prices per hour, by launch type. */
export interface Prices {
  fargate: { vcpuHour: number; gbHour: number };
  pool: { vcpuHour: number; gbHour: number };
}

/** AWS Fargate, Linux/x86, on demand (us-east-1); pool capacity is the user's own: free. */
export const defaultPrices: Prices = {
  fargate: { vcpuHour: 0.04048, gbHour: 0.004445 },
  pool: { vcpuHour: 0, gbHour: 0 },
};

/**
 * Metered time of tasks over [from, to): each task from its start until it stopped (or now),
 * billed per second with a one-minute minimum as Fargate bills, times its reserved vCPUs and
 * GB. Pool tasks are metered the same way, as the cpu and memory they reserve.
 */
export async function meterUsage(
  db: Database,
  window: { from: Date; to: Date; groupBy: "service" | "task" },
  now: Date,
  prices: Prices,
): Promise<Usage> {
  const from = window.from.toISOString();
  const to = window.to.toISOString();
  const ended = sql`coalesce(${tasks.stoppedAt}, ${now.toISOString()}::timestamptz)`;
  const overlap = sql`greatest(extract(epoch from (least(${ended}, ${to}::timestamptz) - greatest(${tasks.startedAt}, ${from}::timestamptz))), 0)`;
  // The one-minute minimum tops up a short run, in the window where the run started.
  const topUp = sql`case when ${tasks.startedAt} >= ${from}::timestamptz then greatest(60 - extract(epoch from (${ended} - ${tasks.startedAt})), 0) else 0 end`;
  const seconds = sql`(${overlap} + ${topUp})`;
  const key =
    window.groupBy === "task"
      ? sql<string>`${tasks.id}`
      : sql<string>`coalesce(${tasks.service}, 'standalone/' || ${tasks.family})`;
  const rows = await db
    .select({
      key,
      launchType: tasks.launchType,
      vcpuSeconds: sql<string>`sum(${seconds} * ${tasks.cpu} / 1024.0)`,
      gbSeconds: sql<string>`sum(${seconds} * ${tasks.memory} / 1024.0)`,
    })
    .from(tasks)
    .where(
      and(
        isNotNull(tasks.startedAt),
        lt(tasks.startedAt, sql`${to}::timestamptz`),
        gt(ended, sql`${from}::timestamptz`),
      ),
    )
    .groupBy(key, tasks.launchType)
    .orderBy(key);

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
