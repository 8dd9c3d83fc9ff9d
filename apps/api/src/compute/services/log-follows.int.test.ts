import type { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { createTestRedis } from "../../test/harness.js";
import { LogFollowHub, logChannel } from "./log-follows.js";

// The hub against a real Redis: when a follower may start reading, and how it ends on shutdown.
const opened: { hub: LogFollowHub; redis: Redis }[] = [];
afterEach(async () => {
  for (const { hub, redis } of opened.splice(0)) {
    await hub.stop();
    redis.disconnect();
  }
});

async function newHub() {
  const redis = createTestRedis();
  const hub = new LogFollowHub(redis, { perToken: 5, total: 10 });
  await hub.start();
  opened.push({ hub, redis });
  return { hub, redis };
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe("LogFollowHub", () => {
  it("lets every follower of a task wait for the subscription, not only the first", async () => {
    const { hub, redis } = await newHub();
    // A SUBSCRIBE slow to be confirmed, as on a loaded Redis.
    const subscriber = (hub as unknown as { subscriber: Redis }).subscriber;
    const subscribe = subscriber.subscribe.bind(subscriber);
    let confirmed = false;
    subscriber.subscribe = (async (...channels: string[]) => {
      await sleep(300);
      const answer = await subscribe(...channels);
      confirmed = true;
      return answer;
    }) as typeof subscriber.subscribe;
    const taskId = `task-${Math.random()}`;
    const first = hub.follow("token-a", taskId);
    const second = await hub.follow("token-b", taskId);
    expect(confirmed, "the second follower went on before the task's SUBSCRIBE").toBe(true);
    // So a line published right after its first read wakes it.
    const started = Date.now();
    const next = second.nextLines(5_000);
    await redis.publish(logChannel(redis, taskId), "1");
    await next.grown;
    expect(Date.now() - started).toBeLessThan(2_000);
    await second.release();
    await (await first).release();
  });

  it("ends waiting followers at once on close, and refuses new ones", async () => {
    const { hub } = await newHub();
    const follower = await hub.follow("token-a", "task-closing");
    expect(follower.ended).toBe(false);
    const started = Date.now();
    const next = follower.nextLines(10_000);
    hub.close();
    await next.grown;
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(follower.ended).toBe(true);
    // A wait taken after close does not wait either.
    await follower.nextLines(10_000).grown;
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect(hub.follow("token-b", "task-closing")).rejects.toMatchObject({
      code: "ServiceUnavailable",
    });
    await follower.release();
  });
});
