import type { LogLine } from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProtocolAgent } from "../../test/fake-agent.js";
import { createTestStack, type TestStack } from "../../test/harness.js";
import { makeZip } from "../../test/zip.js";
import { functionDeadLetters, functionInvocations } from "../schema/functions.js";
import type { FunctionRuntimeConfig } from "../services/function-config.js";

let stack: TestStack;
let agent: ProtocolAgent;
beforeAll(async () => {
  stack = await createTestStack();
  agent = await ProtocolAgent.join(stack, "fargate");
});
afterAll(() => stack.close());

const zip = makeZip([{ name: "index.js", data: "exports.handler = async () => 1;" }]);

async function createFunction(name: string) {
  return stack.admin.createFunction({
    name,
    runtime: "nodejs22.x",
    handler: "index.handler",
    code: { zipBase64: zip.toString("base64") },
  });
}

const line = (text: string): LogLine => ({
  container: "fni_1",
  stream: "stdout",
  time: new Date().toISOString(),
  text,
});

function ship(functionId: string, lines: LogLine[], by = agent) {
  return stack.request(`/v1/agent/nodes/${by.id}/function-logs`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${by.node.credential}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ functionId, lines }),
  });
}

describe("function logs", () => {
  it("stores what agents ship and serves the tail, then follows until the function goes", async () => {
    const fn = await createFunction("logged");
    const shipped = await ship(fn.id, [line("START RequestId: r1"), line("hello"), line("END")]);
    expect(shipped.status, await shipped.text()).toBe(204);
    const tail = await stack.admin.functionLogs("logged", { tail: 2 });
    expect(tail.lines.map((l) => l.text)).toEqual(["hello", "END"]);

    const controller = new AbortController();
    const seen: string[] = [];
    const following = (async () => {
      for await (const got of stack.admin.followFunctionLogs("logged", {
        tail: 1,
        signal: controller.signal,
      }))
        seen.push(got.text);
    })();
    await expect.poll(() => seen).toEqual(["END"]);
    await ship(fn.id, [line("REPORT RequestId: r2 Duration: 1.00 ms")]);
    await expect.poll(() => seen).toEqual(["END", "REPORT RequestId: r2 Duration: 1.00 ms"]);
    // Deleting the function ends the stream by itself (within a follow wait).
    await stack.admin.deleteFunction("logged");
    await Promise.race([
      following,
      new Promise((_, fail) => setTimeout(() => fail(new Error("follow did not end")), 15_000)),
    ]);
    controller.abort();
  });

  it("takes lines only from fargate nodes, for functions that exist", async () => {
    const fn = await createFunction("guarded");
    await stack.admin.createPool("fn-log-users");
    const userNode = await ProtocolAgent.join(stack, "fn-log-users");
    expect((await ship(fn.id, [line("x")], userNode)).status).toBe(403);
    expect((await ship("fn_missing", [line("x")])).status).toBe(404);
    const anonymous = await stack.request(`/v1/agent/nodes/${agent.id}/function-logs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ functionId: fn.id, lines: [] }),
    });
    expect(anonymous.status).toBe(401);
    const tooMany = await ship(
      fn.id,
      Array.from({ length: 1001 }, (_, at) => line(String(at))),
    );
    expect(tooMany.status).toBe(400);
    expect((await stack.admin.functionLogs("guarded")).lines).toEqual([]);
    await stack.admin.deleteFunction("guarded");
  });
});

describe("Event invocations and dead letters", () => {
  it("lists invocations and dead letters newest first, paged, and redrives one", async () => {
    const fn = await createFunction("eventful");
    const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));
    await stack.database.db.insert(functionInvocations).values(
      [1, 2, 3].map((n) => ({
        requestId: `req-${n}`,
        functionId: fn.id,
        status: n === 3 ? ("failed" as const) : ("succeeded" as const),
        attempts: n === 3 ? 3 : 1,
        error: n === 3 ? "boom" : null,
        enqueuedAt: at(n),
        finishedAt: at(n + 10),
      })),
    );
    await stack.database.db.insert(functionDeadLetters).values(
      [1, 2].map((n) => ({
        id: `dl-${n}`,
        functionId: fn.id,
        requestId: `req-dl-${n}`,
        payload: JSON.stringify({ n }),
        error: "boom",
        errorType: "Error",
        attempts: 3,
        enqueuedAt: at(n),
        failedAt: at(n + 100),
      })),
    );

    const first = await stack.admin.listFunctionInvocations("eventful", { limit: 2 });
    expect(first.items.map((item) => item.requestId)).toEqual(["req-3", "req-2"]);
    expect(first.items[0]).toMatchObject({ status: "failed", attempts: 3, error: "boom" });
    const second = await stack.admin.listFunctionInvocations("eventful", {
      limit: 2,
      cursor: first.nextCursor ?? "",
    });
    expect(second).toMatchObject({ items: [{ requestId: "req-1" }], nextCursor: null });

    const letters = await stack.admin.listFunctionDeadLetters("eventful");
    expect(letters.items.map((item) => item.id)).toEqual(["dl-2", "dl-1"]);
    expect(letters.items[0]).toMatchObject({ payload: '{"n":2}', errorType: "Error", attempts: 3 });

    // Without the Event queue running: 503, and the letter stays.
    const wired = stack.services.enqueueFunctionEvent;
    const queued: { fn: FunctionRuntimeConfig; payload: string; requestId?: string }[] = [];
    stack.services.enqueueFunctionEvent = async (config, payload, options) => {
      queued.push({ fn: config, payload: payload.toString("utf8"), requestId: options?.requestId });
      return { requestId: options?.requestId ?? "new" };
    };
    try {
      expect(await stack.admin.redriveFunctionDeadLetter("eventful", "dl-2")).toEqual({
        requestId: "req-dl-2",
      });
      expect(queued).toMatchObject([
        { fn: { id: fn.id }, payload: '{"n":2}', requestId: "req-dl-2" },
      ]);
      expect(
        (await stack.admin.listFunctionDeadLetters("eventful")).items.map((i) => i.id),
      ).toEqual(["dl-1"]);
      // Twice: the second finds it gone and queues nothing.
      await expect(stack.admin.redriveFunctionDeadLetter("eventful", "dl-2")).rejects.toMatchObject(
        {
          status: 404,
        },
      );
      expect(queued).toHaveLength(1);
      // A failed enqueue leaves the letter where it was.
      stack.services.enqueueFunctionEvent = async () => {
        throw new Error("redis is down");
      };
      await expect(stack.admin.redriveFunctionDeadLetter("eventful", "dl-1")).rejects.toMatchObject(
        {
          status: 500,
        },
      );
      expect((await stack.admin.listFunctionDeadLetters("eventful")).items).toHaveLength(1);
    } finally {
      stack.services.enqueueFunctionEvent = wired;
    }

    // Deleting the function deletes its records.
    await stack.admin.deleteFunction("eventful");
    await expect(stack.admin.listFunctionDeadLetters("eventful")).rejects.toMatchObject({
      status: 404,
    });
    const left = await stack.database.db.select().from(functionDeadLetters);
    expect(left).toEqual([]);
  });
});
