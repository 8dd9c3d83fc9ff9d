import type { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestRedis } from "../test/harness.js";
import { LeaderLock, LeaderLoop, LeaseLostError } from "./leader-lock.js";
import { createLogger } from "./logger.js";

const logger = createLogger("silent");
const connections: Redis[] = [];
const loops: LeaderLoop[] = [];

/** A connection of its own (as each replica has) under a prefix shared by the whole test. */
let prefix = "";
function redis(): Redis {
  const connection = createTestRedis(prefix);
  connections.push(connection);
  return connection;
}

beforeEach(() => {
  prefix = `test:leader:${Math.random().toString(36).slice(2)}:`;
});

afterEach(async () => {
  await Promise.all(loops.splice(0).map((loop) => loop.stop()));
  for (const connection of connections.splice(0)) connection.disconnect();
});

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe("LeaderLock", () => {
  it("is held by one holder at a time and lapses when not renewed", async () => {
    const shared = redis();
    const first = new LeaderLock(shared, "lapse", 200);
    const second = new LeaderLock(shared, "lapse", 200);
    expect(await first.acquire()).toBe(true);
    expect(await second.acquire()).toBe(false);
    expect(await first.acquire()).toBe(true);
    await sleep(300);
    expect(await second.acquire()).toBe(true);
    expect(await first.acquire()).toBe(false);
  });

  it("cannot be released by a holder that lost it", async () => {
    const shared = redis();
    const stale = new LeaderLock(shared, "stale", 100);
    const current = new LeaderLock(shared, "stale", 5_000);
    await stale.acquire();
    await sleep(150);
    expect(await current.acquire()).toBe(true);
    await stale.release();
    expect(await stale.acquire()).toBe(false);
  });
});

describe("LeaderLoop", () => {
  it("runs the work on one replica only, and on another once that one stops", async () => {
    const passes = { a: 0, b: 0 };
    const make = (name: "a" | "b") =>
      new LeaderLoop({
        redis: redis(),
        name: "reconcile",
        intervalMs: 20,
        logger,
        run: async () => {
          passes[name]++;
        },
      });
    const a = make("a");
    const b = make("b");
    loops.push(a, b);
    a.start();
    await sleep(50);
    b.start();
    await sleep(300);
    expect(passes.a).toBeGreaterThan(5);
    expect(passes.b).toBe(0);

    await a.stop();
    const before = passes.a;
    await sleep(200);
    expect(passes.b).toBeGreaterThan(3);
    expect(passes.a).toBe(before);
  });

  it("runs a pass at once when woken, and once more when woken during a pass", async () => {
    let passes = 0;
    let release = () => {};
    const loop = new LeaderLoop({
      redis: redis(),
      name: "woken",
      intervalMs: 60_000,
      logger,
      run: async () => {
        passes++;
        if (passes === 2) await new Promise<void>((done) => (release = done));
      },
    });
    loops.push(loop);
    loop.start();
    await sleep(100);
    expect(passes).toBe(1);
    loop.wake();
    await sleep(100);
    expect(passes).toBe(2);
    // Woken while pass 2 still runs: pass 3 follows it, not the minute-long interval.
    loop.wake();
    release();
    await sleep(100);
    expect(passes).toBe(3);
  });

  it("never overlaps passes and survives a failing one", async () => {
    let active = 0;
    let overlapped = false;
    let passes = 0;
    const loop = new LeaderLoop({
      redis: redis(),
      name: "slow",
      intervalMs: 1,
      logger,
      run: async () => {
        passes++;
        active++;
        if (active > 1) overlapped = true;
        await sleep(20);
        active--;
        if (passes === 2) throw new Error("boom");
      },
    });
    loops.push(loop);
    loop.start();
    await sleep(250);
    expect(overlapped).toBe(false);
    expect(passes).toBeGreaterThan(3);
  });

  it("keeps the lease through a pass longer than it, so no second replica runs the loop", async () => {
    const active = new Set<string>();
    let overlapped = false;
    const passes = { a: 0, b: 0 };
    const make = (name: "a" | "b") =>
      new LeaderLoop({
        redis: redis(),
        name: "long-pass",
        intervalMs: 20,
        ttlMs: 150,
        logger,
        run: async () => {
          passes[name]++;
          active.add(name);
          if (active.size > 1) overlapped = true;
          // Five leases long, like a provisioner call of minutes against a lease of seconds.
          await sleep(750);
          active.delete(name);
        },
      });
    const a = make("a");
    loops.push(a);
    a.start();
    await sleep(50);
    const b = make("b");
    loops.push(b);
    b.start();
    await sleep(1_000);
    expect(overlapped).toBe(false);
    expect(passes.b).toBe(0);
  });

  it("stops a pass's writes once another replica took the lease", async () => {
    const shared = redis();
    const writes: number[] = [];
    let failure: unknown;
    const loop = new LeaderLoop({
      redis: shared,
      name: "fenced",
      intervalMs: 60_000,
      logger,
      run: async (lease) => {
        for (let batch = 0; batch < 10; batch++) {
          try {
            await lease.check();
          } catch (error) {
            failure = error;
            throw error;
          }
          writes.push(batch);
          // Another replica takes over mid-pass (as after a pause longer than the lease).
          if (batch === 2) await shared.set("leader:fenced", "another-replica");
          await sleep(5);
        }
      },
    });
    loops.push(loop);
    loop.start();
    await sleep(200);
    expect(writes).toEqual([0, 1, 2]);
    expect(failure).toBeInstanceOf(LeaseLostError);
    expect(loop.isLeader).toBe(false);
  });
});
