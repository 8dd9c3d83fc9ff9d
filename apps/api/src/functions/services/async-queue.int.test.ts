import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { functionDeadLetters, functionInvocations } from "../../db/schema/index.js";
import { FakeFunctionAgent, insertFunction } from "../../test/fake-function-agent.js";
import { createTestStack, type TestStack } from "../../test/harness.js";
import { createFunctions } from "./create-functions.js";

// Event invocations through BullMQ on the real Redis: retries with backoff then the dead
// letter, the maximum event age, and events that wait out a restart of the workers.

/** Polls `probe` until it holds; fails after `timeoutMs`. */
async function waitFor(probe: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

let stack: TestStack;
let agent: FakeFunctionAgent;

beforeAll(async () => {
  stack = await createTestStack({ functions: { startWorkers: true, retryBaseDelayMs: 100 } });
  agent = await FakeFunctionAgent.join(stack);
});
afterAll(async () => {
  await agent?.close();
  await stack?.close();
});

const event = (name: string, body: unknown) =>
  stack.request(`/2015-03-31/functions/${name}/invocations`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.adminToken}`, "x-amz-invocation-type": "Event" },
    body: JSON.stringify(body),
  });

async function invocation(requestId: string) {
  await stack.services.functions.recorder.flush();
  const [row] = await stack.services.db
    .select()
    .from(functionInvocations)
    .where(eq(functionInvocations.requestId, requestId));
  return row;
}

describe("Event invocations", () => {
  it("runs an event once and records it succeeded", async () => {
    await insertFunction(stack, "async-ok");
    const seen: unknown[] = [];
    agent.handler = (payload) => {
      seen.push(payload);
      return { body: null };
    };
    const response = await event("async-ok", { n: 1 });
    expect(response.status).toBe(202);
    const requestId = response.headers.get("x-amzn-requestid") ?? "";
    await waitFor(async () => (await invocation(requestId))?.status === "succeeded", 15_000);
    expect(seen).toEqual([{ n: 1 }]);
    expect(await invocation(requestId)).toMatchObject({ status: "succeeded", attempts: 1 });
  });

  it("retries a failing event, then keeps it as a dead letter with its error and attempts", async () => {
    const id = await insertFunction(stack, "async-fails", { maxRetryAttempts: 2 });
    let calls = 0;
    agent.handler = () => {
      calls++;
      return { outcome: "error", body: { errorMessage: "boom", errorType: "Error" } };
    };
    const response = await event("async-fails", { n: 2 });
    const requestId = response.headers.get("x-amzn-requestid") ?? "";
    const letters = () =>
      stack.services.db
        .select()
        .from(functionDeadLetters)
        .where(eq(functionDeadLetters.functionId, id));
    await waitFor(async () => (await letters()).length === 1, 20_000);
    expect(calls).toBe(3);
    expect((await letters())[0]).toMatchObject({
      requestId,
      error: "boom",
      errorType: "Error",
      attempts: 3,
      payload: JSON.stringify({ n: 2 }),
    });
    await waitFor(async () => (await invocation(requestId))?.status === "failed", 5_000);
    expect(await invocation(requestId)).toMatchObject({
      status: "failed",
      attempts: 3,
      error: "boom",
    });
  });

  it("sends an event older than the maximum age to the dead letters without running it", async () => {
    const id = await insertFunction(stack, "async-old", { maxEventAgeSeconds: 60 });
    let calls = 0;
    agent.handler = () => {
      calls++;
      return { body: null };
    };
    const fn = await stack.services.functions.directory.get("async-old");
    if (!fn) throw new Error("no function");
    await stack.services.functions.events.add(
      {
        functionId: id,
        name: "async-old",
        requestId: "old-event",
        payload: Buffer.from("{}").toString("base64"),
        enqueuedAt: Date.now() - 120_000,
      },
      fn,
    );
    const letters = () =>
      stack.services.db
        .select()
        .from(functionDeadLetters)
        .where(eq(functionDeadLetters.functionId, id));
    await waitFor(async () => (await letters()).length === 1, 15_000);
    expect((await letters())[0]).toMatchObject({ errorType: "EventAgeExceeded", attempts: 0 });
    expect(calls).toBe(0);
  });

  it("keeps events queued while no worker runs, and runs each once another starts", async () => {
    await insertFunction(stack, "async-restart");
    const seen: number[] = [];
    agent.handler = (payload) => {
      seen.push((payload as { n: number }).n);
      return { body: null };
    };
    await stack.services.functions.events.stopWorkers();
    for (let n = 0; n < 5; n++) expect((await event("async-restart", { n })).status).toBe(202);
    await new Promise((done) => setTimeout(done, 300));
    expect(seen).toEqual([]);
    // A new api process: its own queue connections and workers on the same Redis.
    const restarted = createFunctions({
      db: stack.services.db,
      redis: stack.services.redis,
      clock: stack.services.clock,
      logger: stack.services.logger,
      directory: stack.services.functionDirectory,
      settings: {
        region: "us-east-1",
        platformConcurrency: 100,
        idleMs: 300_000,
        throttleWaitMs: 0,
      },
      events: {
        prefix: stack.services.redis.options.keyPrefix ?? "",
        retryBaseDelayMs: 100,
        concurrency: 2,
      },
    });
    restarted.start();
    try {
      await waitFor(async () => seen.length === 5, 15_000);
      expect([...seen].sort()).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await restarted.stop();
      stack.services.functions.events.startWorkers(stack.services.functions, stack.services.db);
    }
  });

  it("retries a throttled event without spending its attempts", async () => {
    const id = await insertFunction(stack, "async-throttled", {
      reservedConcurrency: 0,
      maxRetryAttempts: 0,
    });
    let calls = 0;
    agent.handler = () => {
      calls++;
      return { body: null };
    };
    const response = await event("async-throttled", { n: 3 });
    const requestId = response.headers.get("x-amzn-requestid") ?? "";
    // Throttled several times over (a 100 ms delay each): no attempt spent, no dead letter.
    await waitFor(async () => (await invocation(requestId))?.status === "retrying", 5_000);
    await new Promise((done) => setTimeout(done, 500));
    expect(calls).toBe(0);
    // As a user would lift the limit: every replica hears of the change at once.
    await stack.admin.updateFunction("async-throttled", { reservedConcurrency: null });
    await waitFor(async () => (await invocation(requestId))?.status === "succeeded", 10_000);
    expect(calls).toBe(1);
    const letters = await stack.services.db
      .select()
      .from(functionDeadLetters)
      .where(eq(functionDeadLetters.functionId, id));
    expect(letters).toEqual([]);
  });
});
