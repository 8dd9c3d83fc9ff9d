import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Node, type Service, SkiffClient, serviceSchema, type Task } from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type AgentProcess, startAgentProcess } from "../test/agent-process.js";
import { type DockerEngine, startDockerEngine } from "../test/docker-engines.js";
import { createTestDatabase } from "../test/harness.js";
import { type SkiffProcess, startSkiffProcess, waitForHealth } from "../test/process.js";

// End to end through the REST API: the api and two agents as processes, each agent on its own
// Docker engine (the main one and an extra dockerd), so a service spans two real nodes.
const run = promisify(execFile);
const mainEngine = "unix:///var/run/docker.sock";
const image = "skiff-test/busybox:latest";
const adminToken = `e2e-admin-${randomBytes(16).toString("hex")}`;
const service = `mn-${randomBytes(4).toString("hex")}`;
const family = `${service}-web`;

let workDir: string;
let dropDatabase: (() => Promise<void>) | undefined;
let engine: DockerEngine | undefined;
let api: SkiffProcess | undefined;
let admin: SkiffClient;
const agents: AgentProcess[] = [];
let mainNode: Node;
let extraNode: Node;
let goodRevision: number;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "skiff-multi-node-"));
  const [database, extra] = await Promise.all([createTestDatabase(), startDockerEngine("skiffmn")]);
  dropDatabase = database.drop;
  engine = extra;
  api = await startSkiffProcess(workDir, {
    DATABASE_URL: database.url,
    REDIS_URL: inject("redisUrl"),
    SKIFF_ADMIN_TOKEN: adminToken,
    SKIFF_LOCAL_AGENT: "false",
    // Agents heartbeat three times within the window (2 s here), so a live node is never
    // marked down, and the lost-node case stays well under 30 s.
    SKIFF_NODE_DOWN_AFTER_MS: "6000",
  });
  await waitForHealth(api, 15_000);
  admin = new SkiffClient({ baseUrl: api.baseUrl, token: adminToken });
  await admin.createPool(service);
  for (const [name, dockerHost] of [
    ["node-main", mainEngine],
    ["node-extra", extra.socket],
  ] as const) {
    const { token } = await admin.createJoinToken(service);
    agents.push(startAgent(name, dockerHost, token));
  }
  const nodes = await poll("both nodes active", 20_000, async () => {
    const listed = await admin.listNodes({ pool: service });
    return listed.filter((node) => node.state === "active").length === 2 ? listed : undefined;
  });
  mainNode = nodeNamed(nodes, "node-main");
  extraNode = nodeNamed(nodes, "node-extra");
}, 90_000);

afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.stop("SIGTERM")));
  await removeServiceContainers(mainEngine).catch(() => undefined);
  await engine?.stop();
  await api?.stop();
  await dropDatabase?.();
  rmSync(workDir, { recursive: true, force: true });
}, 60_000);

describe("a service on two nodes, through the REST API", () => {
  it("spreads 4 httpd tasks 2 per node, each answering on its host port", async () => {
    goodRevision = (
      await admin.registerTaskDefinition({
        family,
        cpu: 64,
        memory: 32,
        containers: [
          {
            name: "web",
            image,
            command: ["httpd", "-f", "-p", "8080", "-h", "/www"],
            portMappings: [{ containerPort: 8080 }],
            stopTimeoutSeconds: 1,
          },
        ],
      })
    ).revision;
    const created = await admin.request("POST", "/v1/services", serviceSchema, {
      name: service,
      taskDefinition: `${family}:${goodRevision}`,
      desiredCount: 4,
      pool: service,
      placement: { strategy: "spread" },
    });
    expect(created.desiredCount).toBe(4);

    const running = await pollRunning("4 running tasks, 2 per node", 30_000, (tasks) => {
      const perNode = countBy(tasks.map((task) => task.nodeId));
      return perNode.get(mainNode.id) === 2 && perNode.get(extraNode.id) === 2;
    });
    await expectAllAnswerOk(running);
    const steady = await poll("the rollout to complete", 15_000, async () => {
      const current = await getService();
      const primary = current.deployments.find((deployment) => deployment.status === "primary");
      return primary?.rolloutState === "completed" && current.runningCount === 4
        ? current
        : undefined;
    });
    expect(steady.taskDefinition).toBe(`${family}:${goodRevision}`);
  }, 60_000);

  it("replaces the tasks of a lost node on the other node within 30 s", async () => {
    const [, extraAgent] = agents;
    await extraAgent?.stop("SIGKILL");
    await removeServiceContainers(engine?.socket ?? "");
    const lostAt = Date.now();

    const running = await pollRunning("4 running tasks, all on node-main", 30_000, (tasks) =>
      tasks.every((task) => task.nodeId === mainNode.id),
    );
    expect(Date.now() - lostAt).toBeLessThan(30_000);
    expect((await admin.getNode(extraNode.id)).state).toBe("down");
    const lost = await admin.listTasks({ service, nodeId: extraNode.id, status: "stopped" });
    expect(
      lost.items.map((task) => task.stopCode),
      JSON.stringify(lost.items),
    ).toContain("NodeLost");
    await expectAllAnswerOk(running);
    expect((await getService()).runningCount).toBe(4);
  }, 45_000);

  it("rolls a failing revision back to the good one through the circuit breaker", async () => {
    const bad = await admin.registerTaskDefinition({
      family,
      cpu: 64,
      memory: 32,
      containers: [{ name: "web", image, command: ["sh", "-c", "exit 1"] }],
    });
    await admin.request("PATCH", `/v1/services/${service}`, serviceSchema, {
      taskDefinition: `${family}:${bad.revision}`,
    });

    const rolledBack = await poll("the circuit breaker to roll back", 60_000, async () => {
      const current = await getService();
      const tripped = current.events.some((event) => event.message.includes("circuit breaker"));
      return tripped &&
        current.taskDefinition === `${family}:${goodRevision}` &&
        current.runningCount === 4
        ? current
        : undefined;
    });
    const failed = rolledBack.deployments.find(
      (deployment) => deployment.taskDefinition === `${family}:${bad.revision}`,
    );
    // The failed deployment may already be inactive and left out of the list.
    if (failed) expect(failed.rolloutState, JSON.stringify(failed)).toBe("failed");
    const running = await pollRunning("4 running tasks of the good revision", 15_000, (tasks) =>
      tasks.every((task) => task.revision === goodRevision),
    );
    await expectAllAnswerOk(running);

    // The node that kept its agent never looked lost, so none of its tasks stopped as NodeLost.
    const stopped = await admin.listTasks({ service, nodeId: mainNode.id, status: "stopped" });
    const lostOnMain = stopped.items.filter((task) => task.stopCode === "NodeLost");
    expect(lostOnMain, api?.output()).toEqual([]);
  }, 75_000);
});

function startAgent(name: string, dockerHost: string, joinToken: string): AgentProcess {
  return startAgentProcess({ workDir, name, apiUrl: api?.baseUrl ?? "", joinToken, dockerHost });
}

function nodeNamed(nodes: Node[], name: string): Node {
  const node = nodes.find((candidate) => candidate.name === name);
  if (!node) throw new Error(`no node ${name}: ${JSON.stringify(nodes)}`);
  return node;
}

function getService(): Promise<Service> {
  return admin.request("GET", `/v1/services/${service}`, serviceSchema);
}

/** Waits for exactly 4 running tasks of the service that also pass `check`. */
function pollRunning(what: string, timeoutMs: number, check: (tasks: Task[]) => boolean) {
  return poll(what, timeoutMs, async () => {
    const { items } = await admin.listTasks({ service, status: "running" });
    return items.length === 4 && check(items) ? items : undefined;
  });
}

/** Each task's published port of 8080 answers "ok" at 127.0.0.1, on either engine. */
async function expectAllAnswerOk(tasks: Task[]): Promise<void> {
  for (const task of tasks) {
    const port = task.containers[0]?.hostPorts.find((p) => p.containerPort === 8080)?.hostPort;
    expect(port, JSON.stringify(task)).toBeDefined();
    const body = await poll(`task ${task.id} to answer on ${port}`, 5_000, async () => {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/`);
        return response.ok ? await response.text() : undefined;
      } catch {
        return undefined;
      }
    });
    expect(body.trim()).toBe("ok");
  }
}

async function removeServiceContainers(dockerHost: string): Promise<void> {
  const docker = (...args: string[]) => run("docker", ["-H", dockerHost, ...args]);
  const { stdout } = await docker("ps", "-aq", "--filter", `label=skiff.service=${service}`);
  const ids = stdout.split("\n").filter(Boolean);
  if (ids.length > 0) await docker("rm", "-f", ...ids);
}

function countBy<T>(values: T[]): Map<T, number> {
  const counts = new Map<T, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

/** Calls `probe` every 300 ms until it returns a value; fails with the process output. */
async function poll<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((done) => setTimeout(done, 300));
  }
  const state = await diagnostics();
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ""}\n${state}`,
  );
}

async function diagnostics(): Promise<string> {
  const parts: string[] = [];
  try {
    const current = await getService();
    parts.push(`service: ${JSON.stringify({ ...current, events: current.events.slice(-10) })}`);
    const { items } = await admin.listTasks({ service });
    parts.push(
      `tasks: ${JSON.stringify(items.map((t) => [t.id, t.revision, t.status, t.nodeId, t.stopCode, t.stoppedReason, t.pendingReason]))}`,
    );
    parts.push(`nodes: ${JSON.stringify(await admin.listNodes({ pool: service }))}`);
  } catch (error) {
    parts.push(`(no service state: ${error})`);
  }
  parts.push(`api output: ${api?.output().slice(-4000)}`);
  for (const [index, agent] of agents.entries())
    parts.push(`agent ${index} output: ${agent.output().slice(-4000)}`);
  return parts.join("\n");
}
