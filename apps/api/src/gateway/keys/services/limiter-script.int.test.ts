import { afterAll, describe, expect, it } from "vitest";
import { createTestRedis } from "../../../test/harness.js";
import { checkLimits } from "./limiter.js";
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

describe("the limiter script", () => {
  it("takes nothing from any bucket or quota when one limit refuses", async () => {
    const roomy = { key: "atomic:roomy", rateLimit: 0.01, burstLimit: 10 };
    const tight = { key: "atomic:tight", rateLimit: 0.01, burstLimit: 1 };
    const quota = {
      key: "atomic:quota",
      limit: 100,
      period: "DAY" as const,
      offset: 0,
      setAtSeconds: 0,
    };
    const check = { buckets: [roomy, tight], quota, usageKey: "atomic:usage" };
    expect((await checkLimits(redis, check)).allowed).toBe(true);
    const tokensBefore = await redis.hget(roomy.key, "t");
    const refused = await checkLimits(redis, check);
    expect(refused).toMatchObject({ allowed: false, kind: "throttle", limit: 1 });
    // The roomy bucket (checked first) kept its tokens; quota and usage counted the allowed one only.
    expect(await redis.hget(roomy.key, "t")).toBe(tokensBefore);
    expect(Number(tokensBefore)).toBeCloseTo(9, 2);
    const day = Math.floor(Date.now() / 86_400_000);
    expect(await redis.get(`atomic:quota:${day}`)).toBe("1");
    expect(await redis.get(`atomic:usage:${day}`)).toBe("1");
    expect(await redis.ttl(`atomic:quota:${day}`)).toBeGreaterThan(86_400);
  });
});
