import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { functions } from "../../db/schema/index.js";
import { createControlLoops } from "../../jobs/control-loops.js";
import { channelOf } from "../../lib/redis.js";
import { FakeFunctionAgent, insertFunction } from "../../test/fake-function-agent.js";
import { createTestStack, type TestStack } from "../../test/harness.js";
import {
  functionChangedChannel,
  instanceKey,
  instancesKey,
  nodeMemoryKey,
} from "./function-keys.js";
import { reapInstances } from "./reaper.js";

// Idle instances stopped at their agent and forgotten; a deleted function's instances stopped
// within seconds of `fn:changed`; instances a node's heartbeat no longer lists forgotten.

let stack: TestStack;
let agent: FakeFunctionAgent;

beforeAll(async () => {
  stack = await createTestStack({ functions: { idleMs: 300 } });
  agent = await FakeFunctionAgent.join(stack);
});
afterAll(async () => {
  await agent?.close();
  await stack?.close();
});

const invoke = (name: string) =>
  stack.request(`/2015-03-31/functions/${name}/invocations`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.adminToken}` },
    body: "{}",
  });

async function until(probe: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

describe("the function reaper", () => {
  it("stops an instance idle past the window, frees its memory, and the next invoke starts cold", async () => {
    await insertFunction(stack, "sleepy", { memory: 256 });
    expect((await invoke("sleepy")).status).toBe(200);
    const instanceId = agent.started.at(-1)?.instanceId ?? "";
    const { redis } = stack.services;
    expect(await redis.get(nodeMemoryKey(agent.nodeId))).toBe("256");
    // Not yet idle long enough: kept.
    expect((await reapInstances(stack.services.functions)).stopped).not.toContain(instanceId);
    await new Promise((done) => setTimeout(done, 350));
    expect((await reapInstances(stack.services.functions)).stopped).toEqual([instanceId]);
    expect(agent.stopped).toContain(instanceId);
    expect(await redis.exists(instanceKey(instanceId))).toBe(0);
    expect(await redis.get(nodeMemoryKey(agent.nodeId))).toBeNull();
    const starts = agent.started.length;
    expect((await invoke("sleepy")).status).toBe(200);
    expect(agent.started.length).toBe(starts + 1);
  });

  it("stops a deleted function's idle instances within seconds of fn:changed", async () => {
    const id = await insertFunction(stack, "doomed");
    expect((await invoke("doomed")).status).toBe(200);
    const instanceId = agent.started.at(-1)?.instanceId ?? "";
    stack.services.functions.start();
    // A long tick: only the wake on fn:changed can stop it in time.
    const loops = createControlLoops(stack.services, {
      nodeDownAfterMs: 60_000,
      functionReapIntervalMs: 600_000,
    }).filter(
      (loop) =>
        (loop as unknown as { options: { name: string } }).options.name === "function-reaper",
    );
    for (const loop of loops) loop.start();
    try {
      await new Promise((done) => setTimeout(done, 300)); // the first pass, then the subscription
      await stack.services.db.delete(functions).where(eq(functions.id, id));
      await stack.services.redis.publish(
        channelOf(stack.services.redis, functionChangedChannel),
        id,
      );
      await until(() => agent.stopped.includes(instanceId), 5_000);
    } finally {
      await Promise.all(loops.map((loop) => loop.stop()));
    }
  });

  it("forgets the instances a node's heartbeat no longer lists", async () => {
    await insertFunction(stack, "lost");
    expect((await invoke("lost")).status).toBe(200);
    const instanceId = agent.started.at(-1)?.instanceId ?? "";
    const { redis } = stack.services;
    // Registered two minutes ago: past the grace a start has to reach the agent.
    await redis.zadd(instancesKey, Date.now() - 120_000, instanceId);
    const heartbeat = (ids: string[]) =>
      stack.request(`/v1/agent/nodes/${agent.nodeId}/heartbeat`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${agent.protocol.node.credential}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ taskIds: [], functionInstanceIds: ids }),
      });
    expect((await heartbeat([instanceId])).status).toBe(200);
    expect(await redis.exists(instanceKey(instanceId))).toBe(1);
    expect((await heartbeat([])).status).toBe(200);
    expect(await redis.exists(instanceKey(instanceId))).toBe(0);
    // Nothing routes to it any more: the next invocation starts another.
    const starts = agent.started.length;
    expect((await invoke("lost")).status).toBe(200);
    expect(agent.started.length).toBe(starts + 1);
  });
});
