import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RegisterTaskDefinition, SkiffClient } from "@skiff/shared";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createTestDatabase } from "./test/harness.js";
import { startSkiffProcess, waitForHealth } from "./test/process.js";

// How `npm start` stops (needs npm run build): a SIGTERM does not wait for clients that would
// never hang up by themselves.
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

describe("SIGTERM", () => {
  it("ends open log follow streams and exits well before the shutdown timeout", async () => {
    const { url, drop } = await createTestDatabase();
    cleanups.push(drop);
    const cwd = mkdtempSync(join(tmpdir(), "skiff-shutdown-"));
    cleanups.push(() => rmSync(cwd, { recursive: true, force: true }));
    const adminToken = "shutdown-admin-token-0123456789";
    const skiff = await startSkiffProcess(cwd, {
      DATABASE_URL: url,
      REDIS_URL: inject("redisUrl"),
      SKIFF_ADMIN_TOKEN: adminToken,
      SKIFF_LOCAL_AGENT: "false",
      SKIFF_SHUTDOWN_TIMEOUT_MS: "20000",
    });
    cleanups.push(() => skiff.stop("SIGKILL").then(() => undefined));
    await waitForHealth(skiff, 15_000);
    const admin = new SkiffClient({ baseUrl: skiff.baseUrl, token: adminToken });
    await admin.registerTaskDefinition({
      family: "followed",
      cpu: 256,
      memory: 512,
      containers: [{ name: "main", image: "skiff-test/busybox:latest" }],
    } satisfies RegisterTaskDefinition);
    await admin.createPool("nobody-here");
    // No node: the task waits for room, and its log stream stays open.
    const [task] = await admin.runTask({ taskDefinition: "followed", pool: "nobody-here" });
    const response = await fetch(`${skiff.baseUrl}/v1/tasks/${task?.id}/logs?follow=true`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(response.status).toBe(200);
    const reader = response.body?.getReader();
    const streamEnded = (async () => {
      for (;;) {
        const chunk = await reader?.read().catch(() => ({ done: true }));
        if (!chunk || chunk.done) return;
      }
    })();

    const started = Date.now();
    expect(await skiff.stop("SIGTERM")).toBe(0);
    expect(Date.now() - started, skiff.output()).toBeLessThan(8_000);
    await streamEnded;
    expect(skiff.output()).not.toMatch(/requests still in flight at the shutdown timeout/);
  }, 60_000);
});
