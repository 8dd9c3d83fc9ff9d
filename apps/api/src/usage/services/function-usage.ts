import type { Usage, UsageItem } from "@skiff/shared";
import { and, gte, lt, sql } from "drizzle-orm";
import type { Database } from "../../db/client.js";
import { functionUsage } from "../../db/schema/index.js";
import type { FunctionPrices } from "./usage.js";

interface Amounts {
  requests: number;
  gbSeconds: number;
}

const hourMs = 3_600_000;
/** function_usage keeps memory (MB) x billed duration (ms); a GB-second is 1024 MB x 1000 ms. */
const mbMsPerGbSecond = 1024 * 1000;

/**
 * Functions' metered use over [from, to) (whole hours: the rows are hourly), per function:
 * requests and GB-seconds, and their cost at `prices` after the monthly free tier. The free tier
 * is the platform's, used up in time order from the start of each calendar month (UTC), as
 * Lambda's account-wide free tier is; a window's cost is what became billable within it, shared
 * among functions in proportion to their requests and GB-seconds.
 */
export async function meterFunctions(
  db: Database,
  window: { from: Date; to: Date },
  prices: FunctionPrices,
): Promise<Usage> {
  const from = floorHour(window.from);
  const byFunction = await db
    .select({
      key: functionUsage.functionName,
      requests: sql<string>`sum(${functionUsage.requests})`,
      mbMs: sql<string>`sum(${functionUsage.billedMbMs})`,
    })
    .from(functionUsage)
    .where(and(gte(functionUsage.hour, from), lt(functionUsage.hour, window.to)))
    .groupBy(functionUsage.functionName)
    .orderBy(functionUsage.functionName);
  // The free tier already used before the window, in the window's first month.
  const byHour = await db
    .select({
      hour: functionUsage.hour,
      requests: sql<string>`sum(${functionUsage.requests})`,
      mbMs: sql<string>`sum(${functionUsage.billedMbMs})`,
    })
    .from(functionUsage)
    .where(and(gte(functionUsage.hour, startOfMonthUtc(from)), lt(functionUsage.hour, window.to)))
    .groupBy(functionUsage.hour);
  const months = new Map<number, { before: Amounts; within: Amounts }>();
  for (const row of byHour) {
    const hour = new Date(row.hour);
    const month = startOfMonthUtc(hour).getTime();
    let sums = months.get(month);
    if (!sums) {
      sums = { before: { requests: 0, gbSeconds: 0 }, within: { requests: 0, gbSeconds: 0 } };
      months.set(month, sums);
    }
    const part = hour < from ? sums.before : sums.within;
    part.requests += Number(row.requests);
    part.gbSeconds += Number(row.mbMs) / mbMsPerGbSecond;
  }
  const billable = { requests: 0, gbSeconds: 0 };
  for (const { before, within } of months.values()) {
    billable.requests += billableWithin(before.requests, within.requests, prices.freeRequests);
    billable.gbSeconds += billableWithin(before.gbSeconds, within.gbSeconds, prices.freeGbSeconds);
  }
  const requestCost = (billable.requests / 1_000_000) * prices.requestPerMillion;
  const gbSecondCost = billable.gbSeconds * prices.gbSecond;
  const amounts = byFunction.map((row) => ({
    key: row.key,
    requests: Number(row.requests),
    gbSeconds: Number(row.mbMs) / mbMsPerGbSecond,
  }));
  const total = amounts.reduce(
    (sum, item) => ({
      requests: sum.requests + item.requests,
      gbSeconds: sum.gbSeconds + item.gbSeconds,
    }),
    { requests: 0, gbSeconds: 0 },
  );
  const items: UsageItem[] = amounts.map((item) => ({
    key: item.key,
    launchType: "function",
    requests: item.requests,
    vcpuSeconds: 0,
    gbSeconds: round(item.gbSeconds),
    cost: round(
      share(item.requests, total.requests) * requestCost +
        share(item.gbSeconds, total.gbSeconds) * gbSecondCost,
      6,
    ),
  }));
  return {
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    currency: "USD",
    total: {
      requests: total.requests,
      vcpuSeconds: 0,
      gbSeconds: round(total.gbSeconds),
      cost: round(requestCost + gbSecondCost, 6),
    },
    items,
  };
}

/** What of `within` is past the free amount, given `before` was used earlier in the month. */
function billableWithin(before: number, within: number, free: number): number {
  return Math.max(0, before + within - free) - Math.max(0, before - free);
}

function share(part: number, whole: number): number {
  return whole > 0 ? part / whole : 0;
}

function floorHour(date: Date): Date {
  return new Date(Math.floor(date.getTime() / hourMs) * hourMs);
}

function startOfMonthUtc(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1));
}

function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
