import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type Node, SkiffClient, type Task } from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeNodeLeftovers } from "../test/docker-cli.js";
import { freePort, type SkiffProcess, startSkiffProcess, waitForHealth } from "../test/process.js";
import { waitFor } from "../test/wait.js";

// The embedded default as a new user meets it: `npm start` with no DATABASE_URL and no
// REDIS_URL (PGlite, and a redis-server it starts and supervises), its gateway, registry and
// local agent on this host's Docker engine, driven through the real HTTP API and the docker CLI.
const exec = promisify(execFile);
const baseImage = "skiff-test/busybox:latest";
const adminScript = fileURLToPath(new URL("../../dist/admin.js", import.meta.url));
const adminTokenLine = /^\s+(skf_[A-Za-z0-9_-]{43})$/m;

let skiff: SkiffProcess;
let client: SkiffClient;
let adminToken = "";
let cwd = "";
let gatewayPort = 0;
let registry = "";
let nodes: Node[] = [];
const localImages: string[] = [];

async function sh(command: string, ...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await exec(command, args, { maxBuffer: 16 * 1024 * 1024 });
    return `${stdout}${stderr}`.trim();
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed: ${failed.stdout}${failed.stderr}`);
  }
}

/** docker with a client config (credentials) of this test's own. */
const docker = (...args: string[]) => sh("docker", "--config", join(cwd, "docker"), ...args);

const output = () => skiff.output().slice(-3000);

async function waitForStatus(id: string, status: Task["status"], timeoutMs = 30_000) {
  return waitFor(
    `task ${id} ${status}`,
    timeoutMs,
    async () => {
      const task = await client.getTask(id);
      if (task.status === status) return task;
      if (task.status === "stopped")
        throw new Error(`task stopped while waiting for ${status}: ${JSON.stringify(task)}`);
      return undefined;
    },
    output,
  );
}

async function logsOf(id: string, text: string) {
  return waitFor(
    `"${text}" in task ${id}'s logs`,
    15_000,
    async () => {
      const { lines } = await client.taskLogs(id);
      return lines.find((line) => line.text === text);
    },
    output,
  );
}

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), "skiff-embedded-"));
  gatewayPort = await freePort();
  const registryPort = await freePort();
  registry = `localhost:${registryPort}`;
  // No DATABASE_URL, no REDIS_URL, no admin token: everything a first start makes itself.
  skiff = await startSkiffProcess(cwd, {
    SKIFF_LOCAL_AGENT: "true",
    SKIFF_GATEWAY_PORT: String(gatewayPort),
    SKIFF_REGISTRY_PORT: String(registryPort),
  });
  // PGlite compiles its WebAssembly at start: slower than PostgreSQL on a loaded machine.
  await waitForHealth(skiff, 60_000);
  adminToken = adminTokenLine.exec(skiff.output())?.[1] ?? "";
  expect(adminToken, skiff.output()).not.toBe("");
  client = new SkiffClient({ baseUrl: skiff.baseUrl, token: adminToken });
  nodes = await waitFor(
    "local nodes in pools default and fargate",
    30_000,
    async () => {
      const found = await client.listNodes();
      return ["default", "fargate"].every((pool) => found.some((node) => node.pool === pool))
        ? found
        : undefined;
    },
    output,
  );
});

afterAll(async () => {
  await skiff?.stop();
  for (const node of nodes) await removeNodeLeftovers(node.id);
  if (localImages.length) await sh("docker", "rmi", "-f", ...localImages).catch(() => {});
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

describe("npm start on PGlite and its own redis-server", () => {
  it("runs on the embedded engines, with no configuration of either", () => {
    expect(skiff.output()).not.toMatch(/DATABASE_URL|REDIS_URL/);
    expect(
      nodes.every((node) => node.state === "active"),
      JSON.stringify(nodes),
    ).toBe(true);
  });

  it("tokens: creates, lists, uses and revokes one", async () => {
    const created = await client.createToken({ name: "reader", scopes: ["read"] });
    const reader = client.withToken(created.token);
    expect((await reader.whoami()).name).toBe("reader");
    const { items } = await client.listTokens();
    expect(items.map((token) => token.name)).toContain("reader");
    await client.deleteToken(created.id);
    const refused = await fetch(`${skiff.baseUrl}/v1/whoami`, {
      headers: { authorization: `Bearer ${created.token}` },
    });
    expect(refused.status).toBe(401);
  });

  it("pools, join tokens and nodes", async () => {
    await client.createPool("embedded-extra");
    expect((await client.listPools()).map((pool) => pool.name)).toEqual(
      expect.arrayContaining(["default", "fargate", "embedded-extra"]),
    );
    const join = await client.createJoinToken("embedded-extra", 600);
    expect(join.token).toMatch(/\S{20,}/);
    const node = nodes.find((n) => n.pool === "default");
    expect((await client.getNode(node?.id ?? "")).pool).toBe("default");
    expect(await client.listNodes({ pool: "embedded-extra" })).toEqual([]);
  });

  it("task definitions and a task: running on this host, its logs, its stats, stopped", async () => {
    const definition = await client.registerTaskDefinition({
      family: "embedded-hello",
      cpu: 128,
      memory: 64,
      containers: [
        {
          name: "main",
          image: baseImage,
          command: ["sh", "-c", "echo hello-from-pglite; sleep 300"],
          stopTimeoutSeconds: 1,
        },
      ],
    });
    expect(definition.revision).toBe(1);
    expect((await client.getTaskDefinition("embedded-hello")).revision).toBe(1);
    const [task] = await client.runTask({ taskDefinition: "embedded-hello", pool: "default" });
    const running = await waitForStatus(task?.id ?? "", "running");
    expect(nodes.map((node) => node.id)).toContain(running.nodeId);
    await logsOf(running.id, "hello-from-pglite");
    expect((await client.listTasks({ family: "embedded-hello" })).items).toHaveLength(1);

    const node = nodes.find((n) => n.id === running.nodeId);
    await waitFor(
      "node stats",
      20_000,
      async () => ((await client.nodeStats(node?.id ?? "")).points.length ? true : undefined),
      output,
    );
    expect((await client.taskStats(running.id)).points).toBeInstanceOf(Array);

    await client.stopTask(running.id);
    expect((await waitForStatus(running.id, "stopped")).stopCode).toBe("UserInitiated");
  });

  it("a service at its desired count, answering through the gateway's load balancer", async () => {
    await client.registerTaskDefinition({
      family: "embedded-web",
      cpu: 128,
      memory: 64,
      containers: [
        {
          name: "web",
          image: baseImage,
          command: [
            "sh",
            "-c",
            "echo served-on-pglite > /tmp/index.html && exec httpd -f -p 8080 -h /tmp",
          ],
          portMappings: [{ containerPort: 8080 }],
          stopTimeoutSeconds: 1,
        },
      ],
    });
    await client.createService({
      name: "embedded-web",
      taskDefinition: "embedded-web",
      desiredCount: 2,
      loadBalancer: { containerName: "web", containerPort: 8080 },
    });
    await waitFor(
      "two running tasks",
      45_000,
      async () => ((await client.getService("embedded-web")).runningCount === 2 ? true : undefined),
      output,
    );
    const url = `http://127.0.0.1:${gatewayPort}/_/services/embedded-web/`;
    const page = await waitFor("the page through the gateway", 15_000, async () => {
      const response = await fetch(url).catch(() => undefined);
      return response?.status === 200 ? (await response.text()).trim() : undefined;
    });
    expect(page).toBe("served-on-pglite");
    await client.updateService("embedded-web", { desiredCount: 1 });
    await waitFor("scaled in to one", 30_000, async () =>
      (await client.getService("embedded-web")).runningCount === 1 ? true : undefined,
    );
    await client.deleteService("embedded-web");
  });

  it("usage and metrics", async () => {
    const usage = await client.usage();
    expect(usage.currency).toBe("USD");
    const metrics = await fetch(`${skiff.baseUrl}/v1/metrics`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(metrics.status, await metrics.clone().text()).toBe(200);
    expect(await metrics.text()).toMatch(/^# TYPE /m);
  });

  it("docker login, push and pull through the built-in registry, and a task running the pushed image", async () => {
    const image = `${registry}/team/app:1`;
    await sh("docker", "tag", baseImage, image);
    localImages.push(image);
    await docker("login", registry, "-u", "embedded", "-p", adminToken);
    const pushed = await docker("push", image);
    expect(pushed, pushed).toMatch(/digest: sha256:[a-f0-9]{64}/);
    await sh("docker", "rmi", image);
    await docker("pull", image);
    await sh("docker", "rmi", image); // the agent pulls it itself, from the registry

    const { repositories } = await client.listRepositories();
    expect(repositories.map((repo) => repo.name)).toContain("team/app");
    expect((await client.listImageTags("team/app")).map((tag) => tag.tag)).toEqual(["1"]);
    expect((await client.getRepository("team/app")).tagCount).toBe(1);

    await client.registerTaskDefinition({
      family: "embedded-pushed",
      cpu: 128,
      memory: 64,
      containers: [
        {
          name: "main",
          image,
          command: ["sh", "-c", "echo from-the-pushed-image; sleep 300"],
          stopTimeoutSeconds: 1,
        },
      ],
    });
    const [task] = await client.runTask({ taskDefinition: "embedded-pushed", pool: "default" });
    await waitForStatus(task?.id ?? "", "running", 45_000);
    await logsOf(task?.id ?? "", "from-the-pushed-image");
    await client.stopTask(task?.id ?? "");
  });

  it("info, secrets (never read back) and a repository's quota", async () => {
    const info = await client.info();
    expect(info.registryAddress).toBe(registry);
    await client.createSecret({ name: "embedded-db-password", value: "s3cret-value" });
    const secret = await client.getSecret("embedded-db-password");
    expect(JSON.stringify(secret)).not.toContain("s3cret-value");
    expect((await client.listSecrets()).items.map((s) => s.name)).toContain("embedded-db-password");
    // The repository the push test made.
    const quota = await client.updateRepository("team/app", { storageQuotaBytes: 1_000_000_000 });
    expect(quota.storageQuotaBytes).toBe(1_000_000_000);
  });

  it("restarts its redis-server when it dies: healthy again within seconds, wake-ups work", async () => {
    const pid = (await sh("pgrep", "-P", String(skiff.child.pid), "-x", "redis-server")).trim();
    expect(pid, "the embedded redis-server").toMatch(/^\d+$/);
    await sh("kill", "-9", pid);
    await waitFor(
      "/v1/health 200 after the kill",
      15_000,
      async () => {
        const response = await fetch(`${skiff.baseUrl}/v1/health`).catch(() => undefined);
        return response?.status === 200 ? true : undefined;
      },
      output,
    );
    const restarted = (
      await sh("pgrep", "-P", String(skiff.child.pid), "-x", "redis-server")
    ).trim();
    expect(restarted).not.toBe(pid);
    // The agent's long poll is woken over the restarted Redis; the task's logs go to it.
    const [task] = await client.runTask({ taskDefinition: "embedded-hello", pool: "default" });
    await waitForStatus(task?.id ?? "", "running");
    await logsOf(task?.id ?? "", "hello-from-pglite");
    await client.stopTask(task?.id ?? "");
  });

  it("refuses a second npm start on the same data directory, in one line", async () => {
    const second = await startSkiffProcess(cwd, { SKIFF_LOCAL_AGENT: "false" });
    expect(await second.exited).toBe(1);
    const lines = second.output().trim().split("\n");
    expect(lines, second.output()).toHaveLength(1);
    expect(lines[0]).toMatch(/in use by another Skiff process \(pid \d+\)/);
    // Nor may the recovery command open the database under it.
    const admin = await exec(process.execPath, [adminScript, "create-token", "--name", "x"], {
      cwd,
      env: { PATH: process.env.PATH ?? "" },
    }).then(
      () => ({ code: 0, out: "" }),
      (error: { code?: number; stderr?: string }) => ({
        code: error.code,
        out: error.stderr ?? "",
      }),
    );
    expect(admin.code, admin.out).toBe(1);
    expect(admin.out.trim().split("\n")).toHaveLength(1);
    expect(admin.out).toMatch(/in use by another Skiff process/);
    expect((await fetch(`${skiff.baseUrl}/v1/health`)).status).toBe(200);
  });

  it("starts again after a kill -9, stopping the redis-server the dead process left, with its data", async () => {
    const parent = String(skiff.child.pid);
    const orphan = (await sh("pgrep", "-P", parent, "-x", "redis-server")).trim();
    skiff.child.kill("SIGKILL");
    await skiff.exited;
    // The child outlives its parent: left alone, two servers would append to the same files.
    expect(await sh("ps", "-p", orphan, "-o", "comm=")).toBe("redis-server");
    skiff = await startSkiffProcess(cwd, { SKIFF_LOCAL_AGENT: "false" });
    await waitForHealth(skiff, 60_000);
    await expect(sh("ps", "-p", orphan, "-o", "comm=")).rejects.toThrow();
    client = new SkiffClient({ baseUrl: skiff.baseUrl, token: adminToken });
    expect((await client.listPools()).map((pool) => pool.name)).toContain("embedded-extra");
    expect((await client.listTaskDefinitionFamilies()).length).toBeGreaterThan(0);
  });
});
