import type { Quota } from "@skiff/shared";

export type QuotaPeriod = Quota["period"];

const dayMs = 86_400_000;

/** The UTC day number (days since 1970-01-01) of an instant. */
export function dayNumber(ms: number): number {
  return Math.floor(ms / dayMs);
}

/**
 * The first and next-after-last UTC day numbers of the quota period holding `day`: the day,
 * the week from Monday, the calendar month. The limiter's Lua script computes the same bounds
 * from Redis TIME (limiter-script.ts); the two are tested against each other.
 */
export function periodDays(period: QuotaPeriod, day: number): { start: number; end: number } {
  if (period === "DAY") return { start: day, end: day + 1 };
  if (period === "WEEK") {
    // 1970-01-01 was a Thursday: day 4 (Monday 1970-01-05) starts a week.
    const start = Math.floor((day + 3) / 7) * 7 - 3;
    return { start, end: start + 7 };
  }
  const date = new Date(day * dayMs);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  return {
    start: dayNumber(Date.UTC(year, month, 1)),
    end: dayNumber(Date.UTC(year, month + 1, 1)),
  };
}

/** `YYYY-MM-DD` of a day number. */
export function dayDate(day: number): string {
  return new Date(day * dayMs).toISOString().slice(0, 10);
}

/** The day number of a `YYYY-MM-DD` date; undefined when it is no real date. */
export function dateDay(date: string): number | undefined {
  const ms = Date.parse(`${date}T00:00:00Z`);
  if (Number.isNaN(ms) || dayDate(dayNumber(ms)) !== date) return undefined;
  return dayNumber(ms);
}
