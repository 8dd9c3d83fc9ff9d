import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { channelName } from "../../lib/redis.js";
import { createTestRedis } from "../../test/harness.js";
import { AssignmentNotifier, targetsChannel } from "./assignment-notifier.js";
import { appendTaskLogs } from "./task-logs.js";

// Two installs on one Redis (SKIFF_REDIS_PREFIX): ioredis prefixes keys, not pub/sub channels,
// so without prefixed channels each install woke the other's agents, schedulers and gateways.
const run = randomBytes(4).toString("hex");
const prefixes = { a: `test:${run}:a:`, b: `test:${run}:b:` };
const connections: Redis[] = [];
let a: AssignmentNotifier;
let b: AssignmentNotifier;

function redis(prefix: string): Redis {
  const connection = createTestRedis(prefix);
  connections.push(connection);
  return connection;
}

beforeAll(async () => {
  a = new AssignmentNotifier(redis(prefixes.a));
  b = new AssignmentNotifier(redis(prefixes.b));
  await Promise.all([a.start(), b.start()]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  for (const connection of connections) connection.disconnect();
});

/** Resolves to whether `changed` came before `ms` passed. */
async function within(changed: Promise<void>, ms: number): Promise<boolean> {
  return Promise.race([
    changed.then(() => true),
    new Promise<boolean>((done) => setTimeout(() => done(false), ms)),
  ]);
}

describe("two installs on one Redis under different prefixes", () => {
  it("wake only their own agents' long polls", async () => {
    const ownWait = a.nextChange("node-1", 5_000);
    const otherWait = b.nextChange("node-1", 5_000);
    await a.notify(["node-1"]);
    expect(await within(ownWait.changed, 2_000)).toBe(true);
    expect(await within(otherWait.changed, 500)).toBe(false);
    otherWait.cancel();
  });

  it("wake only their own service scheduler", async () => {
    const woken = { a: 0, b: 0 };
    a.onServiceChange(() => woken.a++);
    b.onServiceChange(() => woken.b++);
    await b.serviceChanged();
    await new Promise((done) => setTimeout(done, 500));
    expect(woken).toEqual({ a: 0, b: 1 });
  });

  it("tell only their own gateways to reload targets", async () => {
    const listener = redis(prefixes.b).duplicate();
    connections.push(listener);
    const heard: string[] = [];
    listener.on("message", (channel: string) => heard.push(channel));
    await listener.subscribe(
      channelName(prefixes.a, targetsChannel),
      channelName(prefixes.b, targetsChannel),
    );
    await a.notify([]);
    await new Promise((done) => setTimeout(done, 300));
    expect(heard).toEqual([`${prefixes.a}${targetsChannel}`]);
  });

  it("wake only their own log followers", async () => {
    const listener = redis(prefixes.b).duplicate();
    connections.push(listener);
    const heard: string[] = [];
    listener.on("message", (channel: string) => heard.push(channel));
    const channel = (prefix: string) => channelName(prefix, "skiff:logs:task-1");
    await listener.subscribe(channel(prefixes.a), channel(prefixes.b));
    const line = { container: "main", stream: "stdout" as const, time: "now", text: "hi" };
    await appendTaskLogs(redis(prefixes.b), "task-1", [line]);
    await new Promise((done) => setTimeout(done, 300));
    expect(heard).toEqual([channel(prefixes.b)]);
  });
});
