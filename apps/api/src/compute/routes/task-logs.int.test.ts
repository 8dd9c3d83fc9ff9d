import type { LogLine, RegisterTaskDefinition } from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProtocolAgent } from "../../test/fake-agent.js";
import { createTestStack, type TestStack } from "../../test/harness.js";

let stack: TestStack;
let pool = 0;
beforeAll(async () => {
  stack = await createTestStack();
  await stack.admin.registerTaskDefinition({
    family: "chatty",
    cpu: "0.25 vCPU",
    memory: "256MiB",
    containers: [{ name: "main", image: "skiff-test/busybox:latest", command: ["sh"] }],
  } as RegisterTaskDefinition);
});
afterAll(() => stack.close());

/** A task placed on a fresh node of its own pool, and that node's agent. */
async function placedTask() {
  const name = `logs-${++pool}`;
  await stack.admin.createPool(name);
  const agent = await ProtocolAgent.join(stack, name);
  const [task] = await stack.admin.runTask({ taskDefinition: "chatty", pool: name });
  if (!task) throw new Error("no task");
  expect(task.nodeId).toBe(agent.id);
  return { task, agent };
}

const line = (text: string, stream: LogLine["stream"] = "stdout"): LogLine => ({
  container: "main",
  stream,
  time: new Date().toISOString(),
  text,
});

const get = (path: string) =>
  stack.request(path, { headers: { authorization: `Bearer ${stack.adminToken}` } });

describe("task logs", () => {
  it("stores what the task's node uploads and answers the last lines in order", async () => {
    const { task, agent } = await placedTask();
    const first = await agent.shipLogs(task.id, [line("one"), line("two", "stderr")]);
    expect(first.status, await first.text()).toBe(204);
    const second = await agent.shipLogs(task.id, [line("three"), line("four")]);
    expect(second.status, await second.text()).toBe(204);

    const all = await stack.admin.taskLogs(task.id);
    expect(all.lines.map((l) => l.text)).toEqual(["one", "two", "three", "four"]);
    expect(all.lines[1]).toMatchObject({ container: "main", stream: "stderr" });
    const tail = await stack.admin.taskLogs(task.id, { tail: 2 });
    expect(tail.lines.map((l) => l.text)).toEqual(["three", "four"]);
  });

  it("takes no lines from another node, and knows no unknown task", async () => {
    const { task } = await placedTask();
    const { agent: other } = await placedTask();
    const response = await other.shipLogs(task.id, [line("intruder")]);
    expect(response.status, await response.text()).toBe(404);
    expect((await stack.admin.taskLogs(task.id)).lines).toEqual([]);
    await expect(stack.admin.taskLogs("task_doesnotexist")).rejects.toMatchObject({
      status: 404,
    });
  });

  it("refuses a bad query and a bad batch", async () => {
    const { task, agent } = await placedTask();
    for (const query of ["tail=0", "tail=5001", "tail=x", "follow=maybe"]) {
      const response = await get(`/v1/tasks/${task.id}/logs?${query}`);
      const text = await response.text();
      expect(response.status, `${query}: ${text}`).toBe(400);
      expect(JSON.parse(text).error.code, text).toBe("ValidationError");
    }
    const tooLong = await agent.shipLogs(task.id, [line("x".repeat(8193))]);
    expect(tooLong.status, await tooLong.text()).toBe(400);
  });

  it("follows: sends the tail, then a line uploaded after the request started", async () => {
    const { task, agent } = await placedTask();
    await agent.shipLogs(task.id, [line("before")]);
    const response = await get(`/v1/tasks/${task.id}/logs?follow=true&tail=10`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
    if (!reader) throw new Error("no body");
    let received = "";
    const events = () =>
      received
        .split("\n")
        .filter((row) => row.startsWith("data:"))
        .map((row) => (JSON.parse(row.slice(5)) as LogLine).text);
    const readUntil = async (text: string) => {
      const deadline = Date.now() + 8000;
      while (!events().includes(text)) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no '${text}' within 8s; got: ${received}`);
        const chunk = await Promise.race([
          reader.read(),
          new Promise<never>((_, fail) => setTimeout(() => fail(new Error("timeout")), left)),
        ]).catch(() => ({ done: true, value: undefined }));
        if (chunk.done) throw new Error(`stream ended before '${text}'; got: ${received}`);
        received += chunk.value;
      }
    };
    try {
      await readUntil("before");
      await new Promise((done) => setTimeout(done, 200));
      await agent.shipLogs(task.id, [line("after")]);
      await readUntil("after");
      expect(events()).toEqual(["before", "after"]);
    } finally {
      await reader.cancel();
    }
  });

  it("ends a follow once the task is stopped and its log drained", async () => {
    const { task, agent } = await placedTask();
    await agent.shipLogs(task.id, [line("last words")]);
    await stack.admin.stopTask(task.id);
    await agent.report(task.id, { status: "stopped" });
    const started = Date.now();
    const response = await get(`/v1/tasks/${task.id}/logs?follow=true`);
    const text = await response.text();
    expect(text).toContain("last words");
    expect(Date.now() - started).toBeLessThan(12_000);
  }, 20_000);
});
