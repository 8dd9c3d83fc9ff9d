import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SkiffClient } from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "./test/harness.js";
import { freePort, type SkiffProcess, startSkiffProcess, waitForHealth } from "./test/process.js";
import { waitFor } from "./test/wait.js";

// Never half-created: with Redis down, a create either succeeds (and its work is found once
// Redis is back) or fails with nothing written. It used to answer 500 with the service created.
const adminToken = "redis-down-admin-token-0123456789";
let skiff: SkiffProcess;
let client: SkiffClient;
let redis: ChildProcess | undefined;
let redisPort = 0;
let cwd = "";
let dropDatabase: (() => Promise<void>) | undefined;

/** A redis-server of this test's own on `redisPort`, so it can be stopped and started again. */
async function startRedis(): Promise<void> {
  redis = spawn(
    "redis-server",
    ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--dir", cwd],
    {
      stdio: "ignore",
    },
  );
  await waitFor("redis-server listening", 10_000, async () => {
    const probe = spawn("redis-cli", ["-p", String(redisPort), "ping"], { stdio: "pipe" });
    let out = "";
    probe.stdout?.on("data", (chunk) => (out += chunk));
    await new Promise((done) => probe.once("exit", done));
    return out.includes("PONG") ? true : undefined;
  });
}

async function stopRedis(): Promise<void> {
  const child = redis;
  // A process killed by a signal has a signalCode and no exitCode.
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((done) => {
    child.once("exit", done);
    child.kill("SIGKILL");
  });
}

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDatabase = database.drop;
  cwd = mkdtempSync(join(tmpdir(), "skiff-redis-down-"));
  redisPort = await freePort();
  await startRedis();
  skiff = await startSkiffProcess(cwd, {
    DATABASE_URL: database.url,
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    SKIFF_ADMIN_TOKEN: adminToken,
    SKIFF_LOCAL_AGENT: "false",
  });
  await waitForHealth(skiff, 15_000);
  client = new SkiffClient({ baseUrl: skiff.baseUrl, token: adminToken });
});

afterAll(async () => {
  await skiff?.end();
  await stopRedis();
  await dropDatabase?.();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

function post(path: string, body: unknown) {
  return fetch(`${skiff.baseUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

describe("creates while Redis is down", () => {
  it("answer what they did, and the service reaches its desired count once Redis is back", async () => {
    await client.registerTaskDefinition({
      family: "redis-down",
      cpu: 128,
      memory: 64,
      containers: [{ name: "main", image: "skiff-test/busybox:latest" }],
    });
    await stopRedis();

    const created = await post("/v1/services", {
      name: "redis-down",
      taskDefinition: "redis-down",
      desiredCount: 1,
    });
    const createdBody = await created.text();
    const listed = await client.listServices();
    // Consistent either way: 201 and the service exists, or an error and it does not.
    if (created.status === 201) expect(listed.map((s) => s.name)).toContain("redis-down");
    else
      expect(
        listed.map((s) => s.name),
        createdBody,
      ).not.toContain("redis-down");
    // The write itself needs only the database: it succeeds.
    expect(created.status, createdBody).toBe(201);

    const scaled = await fetch(`${skiff.baseUrl}/v1/services/redis-down`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ desiredCount: 2 }),
    });
    expect(scaled.status, await scaled.text()).toBe(200);
    expect((await client.getService("redis-down")).desiredCount).toBe(2);

    const ran = await post("/v1/tasks", { taskDefinition: "redis-down", count: 1 });
    expect(ran.status, await ran.text()).toBe(201);

    await startRedis();
    await waitFor(
      "the service's two tasks",
      20_000,
      async () => {
        const { items } = await client.listTasks({ service: "redis-down" });
        return items.length === 2 ? items : undefined;
      },
      () => skiff.output().slice(-2000),
    );
  });

  it("still shuts down on SIGTERM within seconds", async () => {
    await stopRedis();
    const started = Date.now();
    const code = await Promise.race([
      skiff.stop("SIGTERM"),
      new Promise<string>((done) => setTimeout(() => done("still running"), 20_000)),
    ]);
    expect(code, skiff.output().slice(-2000)).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
