import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { SkiffClient } from "@skiff/shared";
import { inject } from "vitest";
import { createTestDatabase } from "../../api/src/test/harness.js";
import { type SkiffProcess, startSkiffProcess, waitForHealth } from "../../api/src/test/process.js";
import { dashboardBuild } from "./browser.js";

const run = promisify(execFile);

export const testImage = "skiff-test/busybox:latest";

export interface DashboardStack {
  skiff: SkiffProcess;
  client: SkiffClient;
  adminToken: string;
  nodeId: string;
  /** The server's own database, for a test to set up what only a long run would make. */
  databaseUrl: string;
  stop(): Promise<void>;
}

export async function docker(...args: string[]): Promise<string> {
  return (await run("docker", args)).stdout.trim();
}

/**
 * The real all-in-one server (`npm start`'s build) on a free port with its local agent on this
 * host's Docker engine, serving the built dashboard: what a user opens in a browser.
 */
export async function startDashboardStack(
  adminToken: string,
  env: Record<string, string> = {},
): Promise<DashboardStack> {
  if (!existsSync(dashboardBuild))
    throw new Error(`no dashboard build at ${dashboardBuild}: run npm run build first`);
  await docker("image", "inspect", testImage).catch(() => {
    throw new Error(`no ${testImage}: run scripts/build-test-images.sh first`);
  });
  const database = await createTestDatabase();
  const cwd = mkdtempSync(join(tmpdir(), "skiff-dashboard-e2e-"));
  const skiff = await startSkiffProcess(cwd, {
    DATABASE_URL: database.url,
    REDIS_URL: inject("redisUrl"),
    SKIFF_ADMIN_TOKEN: adminToken,
    SKIFF_LOCAL_AGENT: "true",
    // The host is shared with other test runs: under load a late heartbeat must not lose the
    // node (and its tasks) in the middle of a test about something else.
    SKIFF_NODE_DOWN_AFTER_MS: "60000",
    ...env,
  });
  await waitForHealth(skiff, 15_000);
  const client = new SkiffClient({ baseUrl: skiff.baseUrl, token: adminToken });
  const nodeId = await waitFor("a node in pool default", 15_000, async () => {
    const nodes = await client.listNodes({ pool: "default" });
    return nodes[0]?.id;
  });
  return {
    skiff,
    client,
    adminToken,
    nodeId,
    databaseUrl: database.url,
    stop: async () => {
      await skiff.end();
      // The agent leaves its containers when it stops; this node's are the test's to remove.
      const ids = await docker("ps", "-aq", "--filter", `label=skiff.node=${nodeId}`);
      if (ids) await docker("rm", "-f", ...ids.split("\n")).catch(() => {});
      await database.drop();
      rmSync(cwd, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` until it returns a value; fails naming `what`. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await new Promise((done) => setTimeout(done, 250));
  }
}
