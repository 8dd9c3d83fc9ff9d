import { usageSchema } from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { functionUsage } from "../../db/schema/index.js";
import { createTestStack, type TestStack } from "../../test/harness.js";

// GET /v1/usage?groupBy=function: requests and GB-seconds per function, and their cost at
// Lambda's prices once the month's free tier (1M requests, 400,000 GB-s) is used up.

let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack();
});
afterAll(async () => stack?.close());

const gbSeconds = (value: number) => value * 1024 * 1000; // as billed MB-ms

describe("function usage and cost", () => {
  it("bills only what passes the monthly free tier, shared among functions", async () => {
    await stack.services.db.insert(functionUsage).values([
      // Earlier in March: 900,000 requests and 399,000 GB-s of the free tier used.
      {
        functionId: "fn_a",
        functionName: "alpha",
        hour: new Date("2026-03-01T05:00:00Z"),
        requests: 900_000,
        billedMbMs: gbSeconds(399_000),
      },
      // In the window: 200,000 requests and 2,000 GB-s, half each.
      {
        functionId: "fn_a",
        functionName: "alpha",
        hour: new Date("2026-03-10T00:00:00Z"),
        requests: 100_000,
        billedMbMs: gbSeconds(1_000),
      },
      {
        functionId: "fn_b",
        functionName: "beta",
        hour: new Date("2026-03-10T01:00:00Z"),
        requests: 100_000,
        errors: 3,
        throttles: 7,
        billedMbMs: gbSeconds(1_000),
      },
    ]);
    const response = await stack.request(
      "/v1/usage?groupBy=function&from=2026-03-10T00:00:00Z&to=2026-03-11T00:00:00Z",
      { headers: { authorization: `Bearer ${stack.adminToken}` } },
    );
    expect(response.status).toBe(200);
    const usage = usageSchema.parse(await response.json());
    // 100,000 requests past the free 1M: $0.02; 1,000 GB-s past the free 400,000: $0.0166667.
    expect(usage.total).toEqual({
      requests: 200_000,
      vcpuSeconds: 0,
      gbSeconds: 2000,
      cost: 0.036667,
    });
    expect(usage.items).toEqual([
      {
        key: "alpha",
        launchType: "function",
        requests: 100_000,
        vcpuSeconds: 0,
        gbSeconds: 1000,
        cost: 0.018333,
      },
      {
        key: "beta",
        launchType: "function",
        requests: 100_000,
        vcpuSeconds: 0,
        gbSeconds: 1000,
        cost: 0.018333,
      },
    ]);
    // The early March hours alone are within the free tier: no cost.
    const early = await stack.request(
      "/v1/usage?groupBy=function&from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z",
      { headers: { authorization: `Bearer ${stack.adminToken}` } },
    );
    expect(usageSchema.parse(await early.json()).total.cost).toBe(0);
  });

  it("appends the function counters to /v1/metrics", async () => {
    stack.services.functions.metrics.finished("alpha", {
      error: true,
      durationMs: 30,
      coldStart: true,
    });
    const response = await stack.request("/v1/metrics", {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    const text = await response.text();
    expect(text).toContain('skiff_function_errors_total{function="alpha"} 1');
    expect(text).toContain('skiff_function_duration_seconds_bucket{function="alpha",le="0.05"} 1');
  });
});
