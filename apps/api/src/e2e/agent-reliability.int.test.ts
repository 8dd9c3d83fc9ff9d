import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { SkiffClient, type Task } from "@skiff/shared";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { type AgentProcess, startAgentProcess } from "../test/agent-process.js";
import { docker, removeNodeLeftovers } from "../test/docker-cli.js";
import { createTestDatabase } from "../test/harness.js";
import { type SkiffProcess, startSkiffProcess, waitForHealth } from "../test/process.js";
import { waitFor } from "../test/wait.js";

// The agent as a real process on this host's engine, against the api as a real process: what an
// operator of a node would notice (its memory, its disk, its exit) under hostile conditions.
const mainEngine = "unix:///var/run/docker.sock";
const image = "skiff-test/busybox:latest";
const adminToken = `e2e-admin-${randomBytes(16).toString("hex")}`;
const run = randomBytes(4).toString("hex");
const mebibyte = 1024 * 1024;

let workDir: string;
let dropDatabase: (() => Promise<void>) | undefined;
let api: SkiffProcess | undefined;
let admin: SkiffClient;
const agents: AgentProcess[] = [];
const nodeIds = new Set<string>();

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "skiff-agent-reliability-"));
  const database = await createTestDatabase();
  dropDatabase = database.drop;
  api = await startSkiffProcess(workDir, {
    DATABASE_URL: database.url,
    REDIS_URL: inject("redisUrl"),
    SKIFF_ADMIN_TOKEN: adminToken,
    SKIFF_LOCAL_AGENT: "false",
  });
  await waitForHealth(api, 15_000);
  admin = new SkiffClient({ baseUrl: api.baseUrl, token: adminToken });
}, 60_000);

afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.stop("SIGTERM")));
  for (const nodeId of nodeIds) await removeNodeLeftovers(nodeId).catch(() => undefined);
  nodeIds.clear();
}, 60_000);

afterAll(async () => {
  await api?.stop();
  await dropDatabase?.();
  rmSync(workDir, { recursive: true, force: true });
}, 30_000);

/** A pool of its own and an agent process joined to it; resolves with its node once active. */
async function startNode(name: string, env: Record<string, string> = {}) {
  const pool = `${name}-${run}`;
  await admin.createPool(pool).catch(() => undefined);
  const { token } = await admin.createJoinToken(pool);
  const agent = startAgentProcess({
    workDir,
    name: pool,
    apiUrl: api?.baseUrl ?? "",
    joinToken: token,
    dockerHost: mainEngine,
    env,
  });
  agents.push(agent);
  const node = await waitFor(
    `node of ${pool} active`,
    20_000,
    async () => {
      const [listed] = await admin.listNodes({ pool });
      return listed?.state === "active" ? listed : undefined;
    },
    () => agent.output(),
  );
  nodeIds.add(node.id);
  return { agent, node, pool };
}

async function runTask(pool: string, family: string, command: string[]): Promise<Task> {
  await admin.registerTaskDefinition({
    family,
    cpu: 256,
    memory: 64,
    containers: [{ name: "main", image, command, stopTimeoutSeconds: 1 }],
  });
  const [task] = await admin.runTask({ taskDefinition: family, pool });
  if (!task) throw new Error("runTask started no task");
  return task;
}

function waitForStatus(id: string, status: Task["status"], agent: AgentProcess) {
  return waitFor(
    `task ${id} ${status}`,
    20_000,
    async () => {
      const task = await admin.getTask(id);
      return task.status === status ? task : undefined;
    },
    () => agent.output(),
  );
}

/** Resident memory of a process, from /proc. */
function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? 0) * 1024;
}

/** The bytes of a container's json-file log and its rotated siblings on the engine's disk. */
function logFilesBytes(logPath: string): number {
  const directory = dirname(logPath);
  const base = logPath.slice(directory.length + 1);
  return readdirSync(directory)
    .filter((file) => file.startsWith(base))
    .reduce((total, file) => total + sizeOrZero(join(directory, file)), 0);
}

/** A file's size, or 0 when the engine rotated it away between the listing and the stat. */
function sizeOrZero(path: string): number {
  try {
    return statSync(path).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
}

describe("the agent under a task that floods its log", () => {
  it("keeps its memory and the node's log files bounded while shipping the newest lines", async () => {
    const { agent, pool } = await startNode("flood", {
      SKIFF_CONTAINER_LOG_MAX_SIZE: "5m",
      SKIFF_CONTAINER_LOG_MAX_FILES: "2",
    });
    const pid = agent.child.pid ?? 0;
    const idleRss = rssBytes(pid);
    // ~50 MB a second of 1000-character lines for 30 s, then a last line and quiet.
    const line = "x".repeat(999);
    const script = [
      "end=$(( $(date +%s) + 30 ))",
      `while [ $(date +%s) -lt $end ]; do yes ${line} | head -c 50000000; sleep 1; done`,
      "echo flood-done",
      "sleep 600",
    ].join("; ");
    const task = await runTask(pool, `flood-${run}`, ["sh", "-c", script]);
    const running = await waitForStatus(task.id, "running", agent);
    const containerId = running.containers[0]?.containerId ?? "";
    const logPath = await docker("inspect", "-f", "{{.LogPath}}", containerId);

    let peakRss = 0;
    let peakDisk = 0;
    const samples: number[] = [];
    const deadline = Date.now() + 34_000;
    while (Date.now() < deadline) {
      samples.push(Math.round(rssBytes(pid) / mebibyte));
      peakRss = Math.max(peakRss, rssBytes(pid));
      peakDisk = Math.max(peakDisk, logFilesBytes(logPath));
      await new Promise((done) => setTimeout(done, 250));
    }
    expect(agent.child.exitCode, agent.output()).toBeNull();
    const rssTrace = `idle ${Math.round(idleRss / mebibyte)} MiB, then ${samples.join(" ")}`;
    expect(
      peakRss,
      `agent peak RSS ${Math.round(peakRss / mebibyte)} MiB: ${rssTrace}`,
    ).toBeLessThan(150 * mebibyte);
    // And its growth over idle: what the flood costs, whatever the agent's code weighs.
    expect(peakRss - idleRss, rssTrace).toBeLessThan(32 * mebibyte);
    // Two files of 5 MiB, and a little slack for the write that crosses the limit.
    expect(peakDisk, `log files ${Math.round(peakDisk / mebibyte)} MiB`).toBeLessThan(
      12 * mebibyte,
    );
    // The shipper kept up: the last line reached the api, the api keeps its bounded tail.
    const logs = await waitFor(
      "the flood's last line at the api",
      15_000,
      async () => {
        const answer = await admin.taskLogs(task.id, { tail: 10 });
        return answer.lines.some((entry) => entry.text === "flood-done") ? answer : undefined;
      },
      () => agent.output(),
    );
    expect(logs.lines.at(-1)?.text).toBe("flood-done");
  }, 120_000);
});

describe("a node deleted under its running agent", () => {
  it("makes the agent exit non-zero saying why, instead of retrying 401s forever", async () => {
    const { agent, node } = await startNode("deleted");
    const exited = new Promise<number | null>((done) => agent.child.once("exit", done));
    await admin.deregisterNode(node.id);
    const code = await Promise.race([
      exited,
      new Promise<"still running">((done) => setTimeout(() => done("still running"), 20_000)),
    ]);
    expect(code, agent.output()).not.toBe("still running");
    expect(code).not.toBe(0);
    expect(agent.output()).toContain(`node ${node.id} is not registered at`);
    expect(agent.output()).toContain("SKIFF_JOIN_TOKEN");
  }, 60_000);
});

describe("an agent joining as a new node on an engine with leftovers", () => {
  const foreign: string[] = [];
  afterEach(async () => {
    if (foreign.length > 0) await docker("rm", "-f", ...foreign.splice(0)).catch(() => "");
  });

  /** A sleeping container with these labels, as a node's task container would have. */
  async function leftover(name: string, labels: Record<string, string>): Promise<string> {
    const id = await docker(
      "run",
      "-d",
      "--name",
      `${name}-${run}`,
      ...Object.entries(labels).flatMap(([key, value]) => ["--label", `${key}=${value}`]),
      image,
      "sleep",
      "600",
    );
    foreign.push(id);
    return id;
  }

  async function exists(id: string): Promise<boolean> {
    const ids = await docker("ps", "-aq", "--no-trunc", "--filter", `id=${id}`);
    return ids.includes(id);
  }

  it("removes its install's gone nodes' containers, never a live node's or another install's", async () => {
    // A live node of this install, running a task on the same engine.
    const live = await startNode("live");
    const task = await runTask(live.pool, `live-${run}`, ["sleep", "600"]);
    const running = await waitForStatus(task.id, "running", live.agent);
    const liveContainer = running.containers[0]?.containerId ?? "";
    const clusterId = await docker(
      "inspect",
      "-f",
      '{{index .Config.Labels "skiff.cluster"}}',
      liveContainer,
    );
    expect(clusterId).toMatch(/^cluster_/);

    // What a node of this install left behind before it lost its state, and two strangers.
    const goneNode = `node_gone${run}`;
    const gone = await leftover("gone", {
      "skiff.cluster": clusterId,
      "skiff.node": goneNode,
      "skiff.task": `task_gone${run}`,
      "skiff.stop-timeout": "1",
    });
    const otherInstall = await leftover("other-install", {
      "skiff.cluster": `cluster_other${run}`,
      "skiff.node": goneNode,
      "skiff.task": `task_other${run}`,
    });
    const noInstall = await leftover("no-install", {
      "skiff.node": goneNode,
      "skiff.task": `task_none${run}`,
    });

    const fresh = await startNode("fresh");
    await waitFor(
      "the gone node's container removed",
      20_000,
      async () => ((await exists(gone)) ? undefined : true),
      () => fresh.agent.output(),
    );
    expect(await exists(otherInstall)).toBe(true);
    expect(await exists(noInstall)).toBe(true);
    expect(await exists(liveContainer)).toBe(true);
    expect((await admin.getTask(task.id)).status).toBe("running");
  }, 90_000);
});
