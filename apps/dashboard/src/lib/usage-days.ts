import type { PlanUsage, UsagePlan } from "@skiff/shared";

/** The usage pages' window: the last 30 UTC days, today included (the quota counts UTC days). */
export const usageWindowDays = 30;

/** The window's dates, YYYY-MM-DD, oldest first, ending with today (UTC). */
export function lastDays(count: number, now: Date = new Date()): string[] {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Array.from({ length: count }, (_, i) =>
    new Date(today - (count - 1 - i) * 86_400_000).toISOString().slice(0, 10),
  );
}

/** The dates of a usage answer, startDate to endDate, oldest first (its series' order). */
export function datesOf(usage: Pick<PlanUsage, "startDate" | "endDate">): string[] {
  const first = Date.parse(`${usage.startDate}T00:00:00Z`);
  const last = Date.parse(`${usage.endDate}T00:00:00Z`);
  if (!(last >= first)) return [];
  return Array.from({ length: Math.round((last - first) / 86_400_000) + 1 }, (_, i) =>
    new Date(first + i * 86_400_000).toISOString().slice(0, 10),
  );
}

/** The query GET /v1/usage-plans/:id/usage takes for `days`. */
export function usageRange(days: string[]): { startDate: string; endDate: string } {
  return { startDate: days[0] ?? "", endDate: days[days.length - 1] ?? "" };
}

/** One line of a usage chart: a key's (or a plan's) requests per day. */
export interface UsageLine {
  id: string;
  label: string;
  /** Requests per day, one per date of the window. */
  used: number[];
  /** What the quota's period had left at the end of each day; null without a quota. */
  remaining: (number | null)[];
}

/** A key's line from a GetUsage answer: zeros where the answer has no day (or no key). */
export function usageLine(usage: PlanUsage, keyId: string, id: string, label: string): UsageLine {
  const series = usage.items[keyId] ?? [];
  return {
    id,
    label,
    used: series.map(([used]) => used),
    remaining: series.map(([, remaining]) => remaining),
  };
}

export function total(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0);
}

/** Today's requests: the window's last day. */
export function today(line: UsageLine): number {
  return line.used[line.used.length - 1] ?? 0;
}

/**
 * "used / limit this <period>" for a key under a plan's quota, from the last day's remaining
 * (what the limiter will still admit), so a period that began before the window, or a quota
 * offset, counts as the gateway counts it. Null without a quota.
 */
export function quotaFigure(plan: Pick<UsagePlan, "quota">, line: UsageLine): string | null {
  if (!plan.quota) return null;
  const remaining = line.remaining[line.remaining.length - 1];
  const used = remaining == null ? total(line.used) : Math.max(0, plan.quota.limit - remaining);
  return `${used} / ${plan.quota.limit} this ${plan.quota.period.toLowerCase()}`;
}

/** The rows of the per-day table: days with requests, newest first, with each line's count. */
export function busyDays(days: string[], lines: UsageLine[]): { date: string; counts: number[] }[] {
  return days
    .map((date, d) => ({ date, counts: lines.map((line) => line.used[d] ?? 0) }))
    .filter((row) => row.counts.some((count) => count > 0))
    .reverse();
}
