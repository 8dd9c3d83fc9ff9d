import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestRedis } from "../../test/harness.js";
import { functionBusyKey, platformBusyKey } from "./function-keys.js";
import { FunctionRouter } from "./router.js";

// The Lua scripts against a real Redis: limits, warm reuse, retirement and lease healing.

let redis: Redis;
beforeAll(() => {
  redis = createTestRedis();
});
afterAll(() => redis.disconnect());

const fn = (
  id: string,
  more: Partial<{ reservedConcurrency: number | null; revision: number }> = {},
) => ({
  id,
  revision: more.revision ?? 1,
  timeout: 3,
  reservedConcurrency: more.reservedConcurrency ?? null,
});

const record = (instanceId: string, functionId: string, memory = 128, revision = 1) => ({
  instanceId,
  functionId,
  revision,
  nodeId: "nd_1",
  url: "http://127.0.0.1:1",
  memory,
});

describe("FunctionRouter", () => {
  it("throttles at reserved concurrency, 0 throttling everything", async () => {
    const router = new FunctionRouter(redis, { platformConcurrency: 100, leaseMarginMs: 60_000 });
    expect(await router.acquire(fn("fn_zero", { reservedConcurrency: 0 }))).toEqual({
      kind: "throttled",
      reason: "reserved",
    });
    const first = await router.acquire(fn("fn_two", { reservedConcurrency: 2 }));
    const second = await router.acquire(fn("fn_two", { reservedConcurrency: 2 }));
    expect([first.kind, second.kind]).toEqual(["cold", "cold"]);
    expect(await router.acquire(fn("fn_two", { reservedConcurrency: 2 }))).toMatchObject({
      kind: "throttled",
      reason: "reserved",
    });
    if (first.kind !== "cold") throw new Error("expected cold");
    await router.release(first.lease, undefined, false);
    expect((await router.acquire(fn("fn_two", { reservedConcurrency: 2 }))).kind).toBe("cold");
  });

  it("throttles at the platform limit across functions", async () => {
    const other = createTestRedis();
    try {
      const router = new FunctionRouter(other, { platformConcurrency: 2, leaseMarginMs: 60_000 });
      expect((await router.acquire(fn("fn_a"))).kind).toBe("cold");
      expect((await router.acquire(fn("fn_b"))).kind).toBe("cold");
      expect(await router.acquire(fn("fn_c"))).toEqual({ kind: "throttled", reason: "platform" });
    } finally {
      other.disconnect();
    }
  });

  it("hands a released instance to the next invocation, the most recently used first, once", async () => {
    const router = new FunctionRouter(redis, { platformConcurrency: 100, leaseMarginMs: 60_000 });
    const functionId = "fn_warm";
    const a = await router.acquire(fn(functionId));
    const b = await router.acquire(fn(functionId));
    if (a.kind !== "cold" || b.kind !== "cold") throw new Error("expected cold starts");
    expect(await router.register(record("fni_a", functionId), 1024)).toBe(true);
    expect(await router.register(record("fni_b", functionId), 1024)).toBe(true);
    await router.release(a.lease, "fni_a", false);
    await new Promise((done) => setTimeout(done, 5));
    await router.release(b.lease, "fni_b", false);
    const next = await router.acquire(fn(functionId));
    expect(next).toMatchObject({ kind: "warm", instance: { instanceId: "fni_b", nodeId: "nd_1" } });
    const after = await router.acquire(fn(functionId));
    expect(after).toMatchObject({ kind: "warm", instance: { instanceId: "fni_a" } });
    expect((await router.acquire(fn(functionId))).kind).toBe("cold");
    // An instance of an older revision is never handed to the new one.
    if (next.kind !== "warm") throw new Error("expected warm");
    await router.release(next.lease, "fni_b", false);
    expect((await router.acquire(fn(functionId, { revision: 2 }))).kind).toBe("cold");
  });

  it("never overcommits a node's memory and frees it when an instance retires", async () => {
    const router = new FunctionRouter(redis, { platformConcurrency: 100, leaseMarginMs: 60_000 });
    const node = { ...record("fni_m1", "fn_mem", 512), nodeId: "nd_mem" };
    expect(await router.register(node, 1000)).toBe(true);
    expect(await router.register({ ...node, instanceId: "fni_m2" }, 1000)).toBe(false);
    expect((await router.nodeMemory(["nd_mem"])).get("nd_mem")).toBe(512);
    const lease = await router.acquire(fn("fn_mem"));
    if (lease.kind !== "cold") throw new Error("expected cold");
    await router.release(lease.lease, "fni_m1", true);
    expect((await router.nodeMemory(["nd_mem"])).get("nd_mem")).toBe(0);
    expect(await router.register({ ...node, instanceId: "fni_m2" }, 1000)).toBe(true);
    expect(await router.forget("fni_m2")).toBe(true);
    expect((await router.nodeMemory(["nd_mem"])).get("nd_mem")).toBe(0);
  });

  it("drops the leases of a replica gone silent, long before they expire, and no others", async () => {
    const limits = { platformConcurrency: 100, leaseMarginMs: 120_000, replicaTtlMs: 300 };
    const crashed = new FunctionRouter(redis, limits);
    const living = new FunctionRouter(redis, limits);
    const limited = fn("fn_orphaned", { reservedConcurrency: 1 });
    expect((await crashed.acquire(limited)).kind).toBe("cold");
    expect((await living.acquire(fn("fn_running", { reservedConcurrency: 1 }))).kind).toBe("cold");
    // The first replica dies mid-invocation: it never releases, and stops saying it lives.
    crashed.close();
    expect((await living.acquire(limited)).kind).toBe("throttled");
    await new Promise((done) => setTimeout(done, 500));
    expect(await living.healLeases()).toBe(1);
    expect((await living.acquire(limited)).kind).toBe("cold");
    expect(await redis.zcard(functionBusyKey("fn_running"))).toBe(1);
    living.close();
  });

  it("heals the leases of a replica that died mid-invocation", async () => {
    // A lease lives timeout + margin: 3 s + 0 here, so a dead replica's count heals in 3 s.
    const router = new FunctionRouter(redis, { platformConcurrency: 100, leaseMarginMs: -2_900 });
    const limited = fn("fn_leak", { reservedConcurrency: 1 });
    expect((await router.acquire(limited)).kind).toBe("cold");
    // The replica "crashes": no release. The next invocation is throttled until the lease expires.
    expect((await router.acquire(limited)).kind).toBe("throttled");
    await new Promise((done) => setTimeout(done, 150));
    expect((await router.acquire(limited)).kind).toBe("cold");
    await new Promise((done) => setTimeout(done, 150));
    expect(await router.healLeases()).toBeGreaterThanOrEqual(1);
    expect(await redis.zcard(functionBusyKey("fn_leak"))).toBe(0);
    expect(await redis.zscore(platformBusyKey, "fn_leak x")).toBeNull();
  });
});
