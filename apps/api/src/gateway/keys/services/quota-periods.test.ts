import { describe, expect, it } from "vitest";
import { dateDay, dayDate, periodDays } from "./quota-periods.js";

const day = (date: string) => dateDay(date) as number;

describe("quota periods", () => {
  it("bounds a day, a week from Monday and a calendar month in UTC", () => {
    // 2026-12-04 is a Friday.
    expect(periodDays("DAY", day("2026-12-04"))).toEqual({
      start: day("2026-12-04"),
      end: day("2026-12-05"),
    });
    expect(periodDays("WEEK", day("2026-12-04"))).toEqual({
      start: day("2026-11-30"),
      end: day("2026-12-07"),
    });
    expect(periodDays("WEEK", day("2026-11-30")).start).toBe(day("2026-11-30"));
    expect(periodDays("WEEK", day("2026-12-06")).start).toBe(day("2026-11-30"));
    expect(periodDays("MONTH", day("2028-02-29"))).toEqual({
      start: day("2028-02-01"),
      end: day("2028-03-01"),
    });
    expect(periodDays("MONTH", day("2026-12-31"))).toEqual({
      start: day("2026-12-01"),
      end: day("2027-01-01"),
    });
  });

  it("reads only real dates", () => {
    expect(dateDay("1970-01-02")).toBe(1);
    expect(dayDate(1)).toBe("1970-01-02");
    expect(dateDay("2026-02-30")).toBeUndefined();
    expect(dateDay("2026-13-01")).toBeUndefined();
  });
});
