import { describe, expect, it } from "vitest";
import {
  busyDays,
  datesOf,
  lastDays,
  quotaFigure,
  today,
  total,
  usageLine,
  usageRange,
} from "./usage-days.js";

describe("usage days", () => {
  it("asks for the last days in UTC, today last, across a month's end", () => {
    const days = lastDays(3, new Date("2026-03-01T23:30:00-05:00"));
    // 23:30 in New York is already March 2nd in UTC: the quota's day.
    expect(days).toEqual(["2026-02-28", "2026-03-01", "2026-03-02"]);
    expect(usageRange(days)).toEqual({ startDate: "2026-02-28", endDate: "2026-03-02" });
    expect(datesOf(usageRange(days))).toEqual(days);
    expect(lastDays(30)).toHaveLength(30);
  });

  it("reads a key's line from GetUsage's pairs, zeros for a key with none", () => {
    const usage = {
      usagePlanId: "p",
      startDate: "2026-03-01",
      endDate: "2026-03-03",
      items: {
        k1: [
          [2, 998],
          [0, 998],
          [3, 995],
        ] as [number, number | null][],
      },
    };
    const line = usageLine(usage, "k1", "k1", "partner");
    expect(line.used).toEqual([2, 0, 3]);
    expect(today(line)).toBe(3);
    expect(total(line.used)).toBe(5);
    // The quota counts its whole period (and any offset), so used = limit - remaining.
    expect(quotaFigure({ quota: { limit: 1000, period: "MONTH", offset: 0 } }, line)).toBe(
      "5 / 1000 this month",
    );
    expect(
      quotaFigure(
        { quota: { limit: 1000, period: "MONTH", offset: 0 } },
        {
          ...line,
          remaining: [990, 990, 987],
        },
      ),
    ).toBe("13 / 1000 this month");
    expect(quotaFigure({ quota: null }, line)).toBeNull();
    const none = usageLine(usage, "k2", "k2", "other");
    expect(today(none)).toBe(0);
    expect(busyDays(datesOf(usage), [line, none])).toEqual([
      { date: "2026-03-03", counts: [3, 0] },
      { date: "2026-03-01", counts: [2, 0] },
    ]);
  });
});
