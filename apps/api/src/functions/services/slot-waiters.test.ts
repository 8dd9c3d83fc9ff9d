import { describe, expect, it } from "vitest";
import { type HandedSlot, SlotWaiters } from "./slot-waiters.js";

const slot = (revision: number, instanceId = "fni_1"): HandedSlot => ({
  kind: "warm",
  lease: { leaseId: "l", functionId: "fn_a", revision, busy: 1, expiresAt: Date.now() + 60_000 },
  instance: { instanceId, nodeId: "node_1", url: "http://node:7070" },
});

describe("SlotWaiters", () => {
  it("hands a slot to the longest waiting caller of its revision, once", async () => {
    const waiters = new SlotWaiters();
    const first = waiters.wait("fn_a", 2, 5_000);
    const second = waiters.wait("fn_a", 2, 5_000);
    expect(waiters.handOff("fn_a", slot(2, "fni_x"))).toBe(true);
    expect((await first)?.instance.instanceId).toBe("fni_x");
    expect(waiters.handOff("fn_a", slot(2, "fni_y"))).toBe(true);
    expect((await second)?.instance.instanceId).toBe("fni_y");
    expect(waiters.handOff("fn_a", slot(2))).toBe(false);
  });

  it("never hands an instance of another revision: that caller waits on", async () => {
    const waiters = new SlotWaiters();
    const newer = waiters.wait("fn_a", 3, 50);
    expect(waiters.handOff("fn_a", slot(2))).toBe(false);
    expect(waiters.handOff("fn_b", slot(3))).toBe(false);
    expect(await newer).toBeUndefined();
  });

  it("wakes one caller per release, with nothing, to acquire in Redis", async () => {
    const waiters = new SlotWaiters();
    const woken: number[] = [];
    const first = waiters.wait("fn_a", 1, 5_000).then((handed) => woken.push(1) && handed);
    const second = waiters.wait("fn_a", 1, 100).then(() => woken.push(2));
    waiters.released("fn_a");
    expect(await first).toBeUndefined();
    await second;
    expect(woken).toEqual([1, 2]);
  });

  it("forgets a caller whose wait ran out: nothing is handed to it later", async () => {
    const waiters = new SlotWaiters();
    expect(await waiters.wait("fn_a", 1, 10)).toBeUndefined();
    expect(waiters.handOff("fn_a", slot(1))).toBe(false);
  });
});
