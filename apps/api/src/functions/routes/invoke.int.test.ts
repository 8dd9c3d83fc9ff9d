import { functionLimits } from "@skiff/shared";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newApp } from "../../app.js";
import { functions, functionUsage } from "../../db/schema/index.js";
import { FakeFunctionAgent, insertFunction } from "../../test/fake-function-agent.js";
import { createTestStack, type TestStack } from "../../test/harness.js";
import { createFunctions } from "../services/create-functions.js";

// Lambda's Invoke against the real route, PostgreSQL and Redis, with the agent's control API
// played on loopback by a fake that records what the api asked of it.

let stack: TestStack;
let agent: FakeFunctionAgent;

beforeAll(async () => {
  stack = await createTestStack();
  agent = await FakeFunctionAgent.join(stack);
});
afterAll(async () => {
  await agent?.close();
  await stack?.close();
});

const invoke = (
  name: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
  query = "",
) =>
  stack.request(`/2015-03-31/functions/${name}/invocations${query}`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.adminToken}`, ...headers },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : new Uint8Array(body) }),
  });

async function expectLambdaError(response: Response, status: number, type: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("x-amzn-errortype")).toBe(type);
  const body = (await response.json()) as { Type: string; message: string; Reason?: string };
  expect(body.Type).toBe("User");
  expect(body.message).toEqual(expect.any(String));
  return body;
}

describe("POST /2015-03-31/functions/:name/invocations", () => {
  it("answers an unknown function 404 ResourceNotFoundException in Lambda's shape", async () => {
    const body = await expectLambdaError(
      await invoke("nope", "{}"),
      404,
      "ResourceNotFoundException",
    );
    expect(body.message).toContain("nope");
  });

  it("answers a Qualifier other than $LATEST 404", async () => {
    await insertFunction(stack, "qualified");
    await expectLambdaError(
      await invoke("qualified", "{}", {}, "?Qualifier=3"),
      404,
      "ResourceNotFoundException",
    );
  });

  it("refuses a payload past 6 MB (sync) and 256 KB (Event) with 413 RequestTooLargeException", async () => {
    await insertFunction(stack, "big");
    const huge = Buffer.alloc(functionLimits.syncPayloadBytes + 10, " ");
    huge[0] = 0x22; // '"'
    await expectLambdaError(await invoke("big", huge), 413, "RequestTooLargeException");
    const medium = JSON.stringify({ data: "x".repeat(functionLimits.asyncPayloadBytes) });
    await expectLambdaError(
      await invoke("big", medium, { "x-amz-invocation-type": "Event" }),
      413,
      "RequestTooLargeException",
    );
    // The same 256 KB is fine synchronously.
    expect((await invoke("big", medium)).status).toBe(200);
  });

  it("refuses a payload that is not JSON with 400 InvalidRequestContentException", async () => {
    await insertFunction(stack, "strict");
    await expectLambdaError(
      await invoke("strict", "{not json"),
      400,
      "InvalidRequestContentException",
    );
    await expectLambdaError(
      await invoke("strict", "{}", { "x-amz-invocation-type": "Sometimes" }),
      400,
      "InvalidParameterValueException",
    );
    await expectLambdaError(
      await invoke("strict", "{}", { "x-amz-client-context": "!!!" }),
      400,
      "InvalidRequestContentException",
    );
  });

  it("throttles a function with reserved concurrency 0: 429 with its Reason", async () => {
    await insertFunction(stack, "stopped", { reservedConcurrency: 0 });
    const body = await expectLambdaError(
      await invoke("stopped", "{}"),
      429,
      "TooManyRequestsException",
    );
    expect(body.Reason).toBe("ReservedFunctionConcurrentInvocationLimitExceeded");
  });

  it("answers a function without code 409 ResourceConflictException", async () => {
    await insertFunction(stack, "pending", { code: false });
    await expectLambdaError(await invoke("pending", "{}"), 409, "ResourceConflictException");
  });

  it("answers DryRun 204 and Event 202 with a request id", async () => {
    await insertFunction(stack, "dry");
    const dry = await invoke("dry", undefined, { "x-amz-invocation-type": "DryRun" });
    expect(dry.status).toBe(204);
    const event = await invoke("dry", "{}", { "x-amz-invocation-type": "Event" });
    expect(event.status).toBe(202);
    expect(event.headers.get("x-amzn-requestid")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("runs the function: a cold start, then the same instance warm, with Lambda's headers", async () => {
    await insertFunction(stack, "echo", { memory: 256 });
    const startsBefore = agent.started.length;
    const first = await invoke("echo", JSON.stringify({ hello: "world" }), {
      "x-amz-log-type": "Tail",
    });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ hello: "world" });
    expect(first.headers.get("x-amz-executed-version")).toBe("$LATEST");
    expect(first.headers.get("x-amz-function-error")).toBeNull();
    const requestId = first.headers.get("x-amzn-requestid");
    expect(Buffer.from(first.headers.get("x-amz-log-result") ?? "", "base64").toString()).toBe(
      `START RequestId: ${requestId}\n`,
    );
    // An empty body is the event {}.
    const second = await invoke("echo", "");
    expect(await second.json()).toEqual({});
    expect(agent.started.length).toBe(startsBefore + 1);
    const start = agent.started.at(-1);
    expect(start).toMatchObject({
      functionName: "echo",
      memory: 256,
      code: { sha256: "a".repeat(64) },
    });
    const ran = agent.invocations.slice(-2).map((invocation) => invocation.instanceId);
    expect(ran[0]).toBe(start?.instanceId);
    expect(ran[1]).toBe(start?.instanceId);
  });

  it("answers a function's error 200 with X-Amz-Function-Error: Unhandled and its document", async () => {
    await insertFunction(stack, "fails");
    agent.handler = () => ({
      outcome: "error",
      body: { errorMessage: "boom", errorType: "Error", stackTrace: [] },
    });
    try {
      const response = await invoke("fails", "{}");
      expect(response.status).toBe(200);
      expect(response.headers.get("x-amz-function-error")).toBe("Unhandled");
      expect(await response.json()).toMatchObject({ errorMessage: "boom", errorType: "Error" });
    } finally {
      agent.handler = (event) => ({ body: event });
    }
  });

  it("starts a new instance when the warm one is gone at its agent", async () => {
    await insertFunction(stack, "phoenix");
    expect((await invoke("phoenix", "{}")).status).toBe(200);
    const first = agent.started.at(-1)?.instanceId ?? "";
    agent.instances.delete(first); // the node lost it while it idled
    const again = await invoke("phoenix", "{}");
    expect(again.status).toBe(200);
    const second = agent.started.at(-1)?.instanceId;
    expect(second).not.toBe(first);
    expect(agent.invocations.at(-1)?.instanceId).toBe(second);
  });

  it("routes two api processes to the same warm instance", async () => {
    await insertFunction(stack, "shared");
    // A second replica: its own router, node view and agent client, the same Redis and database.
    const other = createFunctions({
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
        concurrency: 1,
      },
    });
    const replica = newApp({ ...stack.services, functions: other });
    try {
      expect((await invoke("shared", "{}")).status).toBe(200);
      const instance = agent.started.at(-1)?.instanceId;
      const starts = agent.started.length;
      const response = await replica.request(
        "http://skiff.test/2015-03-31/functions/shared/invocations",
        {
          method: "POST",
          headers: { authorization: `Bearer ${stack.adminToken}` },
          body: "{}",
        },
      );
      expect(response.status).toBe(200);
      expect(agent.started.length).toBe(starts);
      expect(agent.invocations.at(-1)?.instanceId).toBe(instance);
    } finally {
      await other.stop();
    }
  });

  it("retires an instance that timed out, and retires instances of an older revision", async () => {
    const id = await insertFunction(stack, "slow");
    agent.handler = () => ({
      outcome: "timeout",
      body: { errorMessage: "Task timed out after 3.00 seconds" },
    });
    try {
      const timedOut = await invoke("slow", "{}");
      expect(timedOut.headers.get("x-amz-function-error")).toBe("Unhandled");
    } finally {
      agent.handler = (event) => ({ body: event });
    }
    const starts = agent.started.length;
    expect((await invoke("slow", "{}")).status).toBe(200);
    expect(agent.started.length).toBe(starts + 1);
    await stack.services.db
      .update(functions)
      .set({ revision: sql`${functions.revision} + 1` })
      .where(eq(functions.id, id));
    // Written behind the api's back: what a PATCH would have told every replica's directory.
    stack.services.functionDirectory.forget(id);
    expect((await invoke("slow", "{}")).status).toBe(200);
    expect(agent.started.length).toBe(starts + 2);
    expect(agent.started.at(-1)?.revision).toBe(2);
  });

  it("meters invocations in function_usage off the request path", async () => {
    const id = await insertFunction(stack, "metered", { memory: 512 });
    await invoke("metered", "{}");
    await invoke("metered", "{}");
    await stack.services.functions.recorder.flush();
    const [usage] = await stack.services.db
      .select()
      .from(functionUsage)
      .where(eq(functionUsage.functionId, id));
    expect(usage).toMatchObject({
      functionName: "metered",
      requests: 2,
      errors: 0,
      billedMbMs: 2 * 512 * 13,
    });
    const metrics = stack.services.functions.metrics.toPrometheus();
    expect(metrics).toContain('skiff_function_invocations_total{function="metered"} 2');
    expect(metrics).toContain('skiff_function_cold_starts_total{function="metered"} 1');
  });

  it("charts invocations per minute in Redis: GET /v1/functions/:name/metrics", async () => {
    await insertFunction(stack, "charted");
    agent.handler = (event) => ({ body: event, durationMs: (event as { ms: number }).ms });
    try {
      for (const ms of [3, 15, 15, 400]) await invoke("charted", JSON.stringify({ ms }));
    } finally {
      agent.handler = (event) => ({ body: event });
    }
    await stack.services.functions.minutes.flush();
    const metrics = await stack.admin.functionMetrics("charted", 5);
    expect(metrics.minutes).toHaveLength(5);
    const active = metrics.minutes.filter((minute) => minute.invocations > 0);
    const sum = (field: "invocations" | "coldStarts" | "errors") =>
      active.reduce((total, minute) => total + minute[field], 0);
    expect([sum("invocations"), sum("coldStarts"), sum("errors")]).toEqual([4, 1, 0]);
    // Within one minute (almost always): p50 in the 20 ms bucket, p99 in the 500 ms one.
    if (active.length === 1)
      expect(active[0]).toMatchObject({ durationP50Ms: 20, durationP99Ms: 500, maxConcurrency: 1 });
    const unknown = await stack.request("/v1/functions/nope/metrics", {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    expect(unknown.status).toBe(404);
  });

  it("answers 500 ServiceException when the agent fails, and replaces that instance", async () => {
    await insertFunction(stack, "flaky");
    agent.handler = () => {
      throw new Error("agent broke");
    };
    try {
      const response = await invoke("flaky", "{}");
      expect(response.status).toBe(500);
      expect(response.headers.get("x-amzn-errortype")).toBe("ServiceException");
      expect(await response.json()).toMatchObject({ Type: "Service" });
    } finally {
      agent.handler = (event) => ({ body: event });
    }
    const broken = agent.started.at(-1)?.instanceId;
    expect((await invoke("flaky", "{}")).status).toBe(200);
    expect(agent.started.at(-1)?.instanceId).not.toBe(broken);
  });
});
