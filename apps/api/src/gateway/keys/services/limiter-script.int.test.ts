import { afterAll, describe, expect, it } from "vitest";
import { createTestRedis } from "../../../test/harness.js";
import { periodLua } from "./limiter-script.js";
import { periodDays, type QuotaPeriod } from "./quota-periods.js";

const redis = createTestRedis();
afterAll(() => redis.disconnect());

describe("the limiter's quota periods in Lua", () => {
  it("bound every day of 2000-2101 (leap years, 2100 not one) as quota-periods.ts does", async () => {
    // Every day from 2000-01-01 to 2101, per period kind, in one script call each.
    const from = 10_957;
    const days = 37_000;
    const lua = `${periodLua}
local out = {}
local kind = tonumber(ARGV[1])
for day = tonumber(ARGV[2]), tonumber(ARGV[2]) + tonumber(ARGV[3]) - 1 do
  local start, finish = period(kind, day)
  out[#out + 1] = start
  out[#out + 1] = finish
end
return out`;
    const kinds: [QuotaPeriod, number][] = [
      ["DAY", 1],
      ["WEEK", 2],
      ["MONTH", 3],
    ];
    for (const [period, kind] of kinds) {
      const bounds = (await redis.eval(lua, 0, kind, from, days)) as number[];
      for (let i = 0; i < days; i++) {
        const day = from + i;
        const expected = periodDays(period, day);
        const got = { start: bounds[2 * i], end: bounds[2 * i + 1] };
        if (got.start !== expected.start || got.end !== expected.end)
          expect({ period, day, got }).toEqual({ period, day, got: expected });
      }
    }
  });
});
