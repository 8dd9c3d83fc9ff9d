import type { LogLine, RegisterTaskDefinition, Task } from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProtocolAgent } from "../../test/fake-agent.js";
import { createTestStack, type TestStack } from "../../test/harness.js";

// What bounds a `logs?follow=true` stream: caps per token and per process, the token's validity
// while it streams, and one shared Redis subscription instead of a connection per follower.
let stack: TestStack;
let task: Task;
let agent: ProtocolAgent;

beforeAll(async () => {
  stack = await createTestStack({ logFollows: { perToken: 2, total: 3 }, logFollowRecheckMs: 500 });
  await stack.admin.registerTaskDefinition({
    family: "chatty",
    cpu: "0.25 vCPU",
    memory: "256MiB",
    containers: [{ name: "main", image: "skiff-test/busybox:latest", command: ["sh"] }],
  } as RegisterTaskDefinition);
  await stack.admin.createPool("follows");
  agent = await ProtocolAgent.join(stack, "follows");
  const [placed] = await stack.admin.runTask({ taskDefinition: "chatty", pool: "follows" });
  if (!placed) throw new Error("no task");
  task = placed;
});
afterAll(() => stack.close());

const line = (text: string): LogLine => ({
  container: "main",
  stream: "stdout",
  time: new Date().toISOString(),
  text,
});

async function newToken(name: string, expiresAt?: string) {
  return stack.admin.createToken({ name, scopes: ["read"], ...(expiresAt ? { expiresAt } : {}) });
}

/** An open follow stream, read in the background until it ends or is closed. */
async function follow(token: string) {
  const response = await stack.request(`/v1/tasks/${task.id}/logs?follow=true`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (response.status !== 200) return { status: response.status, text: await response.text() };
  const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
  if (!reader) throw new Error("no body");
  let received = "";
  const ended = (async () => {
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (chunk.done) return;
      received += chunk.value;
    }
  })();
  return {
    status: 200,
    text: "",
    received: () => received,
    ended,
    close: async () => {
      await reader.cancel().catch(() => {});
      await ended;
    },
  };
}

async function until(what: string, check: () => boolean, ms: number) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

describe("log follow streams", () => {
  it("are capped per token and in total with a 429, and a closed one frees its place", async () => {
    const a = (await newToken("a")).token;
    const b = (await newToken("b")).token;
    const a1 = await follow(a);
    const a2 = await follow(a);
    expect([a1.status, a2.status]).toEqual([200, 200]);
    const a3 = await follow(a);
    expect(a3.status, a3.text).toBe(429);
    expect(JSON.parse(a3.text).error).toMatchObject({ code: "TooManyRequests" });
    expect(JSON.parse(a3.text).error.message).toMatch(/this token already follows 2/);

    const b1 = await follow(b);
    expect(b1.status).toBe(200);
    const b2 = await follow(b);
    expect(b2.status, b2.text).toBe(429);
    expect(JSON.parse(b2.text).error.message).toMatch(/this server follows 3/);

    await a1.close?.();
    await until("a place freed", () => stack.services.logFollows.openStreams === 2, 5_000);
    const again = await follow(b);
    expect(again.status, again.text).toBe(200);
    await Promise.all([a2.close?.(), b1.close?.(), again.close?.()]);
    await until("all closed", () => stack.services.logFollows.openStreams === 0, 5_000);
  });

  it("end soon after their token is revoked, with an error event", async () => {
    const { id, token } = await newToken("revoked");
    const stream = await follow(token);
    expect(stream.status).toBe(200);
    await agent.shipLogs(task.id, [line("while valid")]);
    await until("the line", () => stream.received?.().includes("while valid") ?? false, 8_000);
    await stack.admin.deleteToken(id);
    const started = Date.now();
    await stream.ended;
    // Checked every 500 ms here (SKIFF_LOG_FOLLOW_RECHECK_SECONDS, 10 s by default).
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(stream.received?.()).toMatch(/event: ?error/);
    expect(stream.received?.()).toContain("Unauthorized");
  }, 20_000);

  it("end in the typed client as a SkiffApiError once the token is revoked", async () => {
    const { id, token } = await newToken("client");
    const seen: string[] = [];
    const reading = (async () => {
      for await (const one of stack.as(token).followTaskLogs(task.id, { tail: 1 }))
        seen.push(one.text);
    })();
    await until("following", () => stack.services.logFollows.openStreams === 1, 5_000);
    await stack.admin.deleteToken(id);
    await expect(reading).rejects.toMatchObject({ status: 401, code: "Unauthorized" });
  }, 20_000);

  it("end soon after their token expires", async () => {
    const { token } = await newToken("short", new Date(Date.now() + 2_000).toISOString());
    const stream = await follow(token);
    expect(stream.status).toBe(200);
    const started = Date.now();
    await stream.ended;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(stream.received?.()).toContain("revoked or has expired");
  }, 20_000);

  it("share one Redis subscription: followers add no connections, and still get new lines", async () => {
    const name = String(await stack.services.redis.client("GETNAME"));
    const connections = async () => {
      const list = String(await stack.services.redis.client("LIST"));
      return list.split("\n").filter((row) => row.includes(` name=${name} `)).length;
    };
    const before = await connections();
    const followers = [await follow((await newToken("s1")).token)];
    followers.push(await follow((await newToken("s2")).token));
    followers.push(await follow((await newToken("s3")).token));
    expect(followers.map((one) => one.status)).toEqual([200, 200, 200]);
    expect(await connections()).toBe(before);
    await agent.shipLogs(task.id, [line("for everyone")]);
    for (const one of followers)
      await until("the line", () => one.received?.().includes("for everyone") ?? false, 3_000);
    await Promise.all(followers.map((one) => one.close?.()));
  });
});
