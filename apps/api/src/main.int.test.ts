import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { SkiffClient } from "@skiff/shared";
import { afterAll, describe, expect, inject, it } from "vitest";
import { openDatabase } from "./db/client.js";
import { createTestDatabase } from "./test/harness.js";
import { startSkiffProcess, waitForHealth } from "./test/process.js";

// What `npm start` does, as its own process: the all-in-one default and the configured one.
const dirs: string[] = [];
const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  for (const drop of drops) await drop();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "skiff-main-"));
  dirs.push(dir);
  return dir;
}

const adminTokenLine = /^\s+(skf_[A-Za-z0-9_-]{43})$/m;

/** Polls `probe` until it returns a value; fails after `timeoutMs`. */
async function waitFor<T>(timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((done) => setTimeout(done, 200));
  }
}

describe("npm start with no configuration", () => {
  it("answers within 10 s, prints the admin token once, and keeps its data across a restart", async () => {
    const cwd = tempDir();
    // The local agent has its own test below; this one is about the api's own data.
    const first = await startSkiffProcess(cwd, { SKIFF_LOCAL_AGENT: "false" });
    const tookMs = await waitForHealth(first, 10_000);
    expect(tookMs).toBeLessThan(10_000);
    const adminToken = adminTokenLine.exec(first.output())?.[1];
    expect(adminToken, first.output()).toBeDefined();

    const admin = new SkiffClient({ baseUrl: first.baseUrl, token: adminToken });
    const created = await admin.createToken({ name: "survives-restart", scopes: ["read"] });
    expect(await first.stop("SIGTERM")).toBe(0);
    expect(existsSync(join(cwd, ".skiff", "pgdata"))).toBe(true);
    expect(existsSync(join(cwd, ".skiff", "redis"))).toBe(true);

    const second = await startSkiffProcess(cwd, { SKIFF_LOCAL_AGENT: "false" });
    await waitForHealth(second, 10_000);
    expect(second.output()).not.toMatch(adminTokenLine);
    const reader = new SkiffClient({ baseUrl: second.baseUrl, token: created.token });
    expect((await reader.whoami()).name).toBe("survives-restart");
    expect(await second.stop("SIGTERM")).toBe(0);
  });

  it("runs local agents: a node in pool default and one in fargate within 10 s, the same after a restart", async () => {
    const cwd = tempDir();
    const first = await startSkiffProcess(cwd, {});
    // The first test holds the 10 s start; this one is about the agents.
    await waitForHealth(first, 20_000);
    const adminToken = adminTokenLine.exec(first.output())?.[1];
    expect(adminToken, first.output()).toBeDefined();
    const admin = new SkiffClient({ baseUrl: first.baseUrl, token: adminToken });
    const joined = await waitFor(10_000, async () => {
      const nodes = await admin.listNodes();
      return nodes.length > 1 ? nodes : undefined;
    });
    expect(joined, first.output()).toHaveLength(2);
    const byPool = (pool: string) => joined.find((node) => node.pool === pool);
    expect(byPool("default")).toMatchObject({ state: "active" });
    expect(byPool("fargate")).toMatchObject({ state: "active" });
    // The host split in two: fargate's half and the rest for pool tasks.
    expect(byPool("fargate")?.capacity.cpu).toBeGreaterThan(0);
    expect(
      (byPool("default")?.capacity.cpu ?? 0) + (byPool("fargate")?.capacity.cpu ?? 0),
    ).toBeLessThanOrEqual(cpus().length * 1024);
    expect(await first.stop("SIGTERM"), first.output()).toBe(0);
    expect(existsSync(join(cwd, ".skiff", "agent", "node.json"))).toBe(true);

    // Another port on purpose: the saved registration still names the same node.
    const restartedAt = new Date();
    const second = await startSkiffProcess(cwd, {});
    await waitForHealth(second, 20_000);
    const client = new SkiffClient({ baseUrl: second.baseUrl, token: adminToken });
    const beating = await waitFor(10_000, async () => {
      const nodes = await client.listNodes();
      const beat = nodes.every(
        (node) => node.lastHeartbeatAt && new Date(node.lastHeartbeatAt) > restartedAt,
      );
      return beat ? nodes : undefined;
    });
    expect(beating.map((node) => node.id).sort()).toEqual(joined.map((node) => node.id).sort());
    expect(await second.stop("SIGTERM"), second.output()).toBe(0);
  });

  it("exits with a one-line error when there is neither REDIS_URL nor redis-server", async () => {
    const skiff = await startSkiffProcess(tempDir(), { PATH: "/nonexistent" });
    expect(await skiff.exited).toBe(1);
    const lines = skiff.output().trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/REDIS_URL/);
    expect(lines[0]).toMatch(/redis-server/);
  });

  it("exits with an error naming a bad setting", async () => {
    const skiff = await startSkiffProcess(tempDir(), { PORT: "not-a-port" });
    expect(await skiff.exited).toBe(1);
    expect(skiff.output()).toMatch(/PORT/);
  });
});

describe("npm start with DATABASE_URL and REDIS_URL", () => {
  // With SKIFF_SECRETS_KEY given, nothing is kept on the api's disk; without it, the only local
  // file would be the generated secrets key.
  it("uses them, accepts SKIFF_ADMIN_TOKEN and SKIFF_SECRETS_KEY, and creates no local data", async () => {
    const { url, drop } = await createTestDatabase();
    drops.push(drop);
    const cwd = tempDir();
    const adminToken = "configured-admin-token-0123456789";
    const skiff = await startSkiffProcess(cwd, {
      DATABASE_URL: url,
      REDIS_URL: inject("redisUrl"),
      SKIFF_ADMIN_TOKEN: adminToken,
      SKIFF_SECRETS_KEY: randomBytes(32).toString("base64"),
    });
    await waitForHealth(skiff, 10_000);
    const admin = new SkiffClient({ baseUrl: skiff.baseUrl, token: adminToken });
    const created = await admin.createToken({ name: "in-postgres", scopes: ["read"] });
    expect(skiff.output()).not.toMatch(adminTokenLine);
    expect(await skiff.stop()).toBe(0);
    expect(existsSync(join(cwd, ".skiff"))).toBe(false);

    const database = await openDatabase({ url, dataDir: "" });
    const rows = await database.db.execute(
      `select name from api_tokens where id = '${created.id}'`,
    );
    await database.close();
    expect(rows).toEqual([{ name: "in-postgres" }]);
  });

  it("exits non-zero when a migration fails", async () => {
    const { url, drop } = await createTestDatabase();
    drops.push(drop);
    const database = await openDatabase({ url, dataDir: "" });
    await database.db.execute(
      "drop schema drizzle cascade; drop table api_tokens; create table api_tokens (x int)",
    );
    await database.close();
    const skiff = await startSkiffProcess(tempDir(), {
      DATABASE_URL: url,
      REDIS_URL: inject("redisUrl"),
    });
    expect(await skiff.exited).toBe(1);
    expect(skiff.output()).toMatch(/failed to start/);
  });
});
