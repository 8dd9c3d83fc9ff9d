import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { SkiffClient, type Task } from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ProvisionRequest } from "../fargate/services/provisioner.js";
import { type AgentProcess, startAgentProcess } from "../test/agent-process.js";
import { type DockerEngine, startDockerEngine } from "../test/docker-engines.js";
import { createTestDatabase } from "../test/harness.js";
import { type SkiffProcess, startSkiffProcess, waitForHealth } from "../test/process.js";
import { waitFor } from "../test/wait.js";

// The fargate capacity loop end to end: no fargate node at first; the operator's provisioner
// (a webhook served by this test) is asked for a node when a task waits, starts a real Docker
// engine with an agent for it, and is asked to take it back once the node has been idle.
const image = "skiff-test/busybox:latest";
const adminToken = "e2e-capacity-token-0123456789abcdef";
const nodeSize = { cpu: 1024, memory: 2048 };

interface ProvisionedNode {
  engine: DockerEngine;
  agent: AgentProcess;
}

let workDir = "";
let skiff: SkiffProcess;
let client: SkiffClient;
let webhook: Server;
let dropDatabase: (() => Promise<void>) | undefined;
const requests: ProvisionRequest[] = [];
const provisioned = new Map<string, ProvisionedNode>();

/** The operator's side: a scale-out starts an engine and an agent per node; a scale-in stops them. */
async function provision(request: ProvisionRequest): Promise<void> {
  requests.push(request);
  if (request.action === "scale-out") {
    for (let index = 0; index < request.count; index++) {
      const name = `fgprov${provisioned.size + 1}`;
      const engine = await startDockerEngine(name);
      const hostMiB = Math.floor(totalmem() / (1024 * 1024));
      const agent = startAgentProcess({
        workDir,
        name,
        apiUrl: request.apiUrl,
        joinToken: request.joinToken,
        dockerHost: engine.socket,
        env: {
          SKIFF_NODE_ATTRIBUTES: "skiff.provisioned=true",
          // The host, cut down to the size asked for.
          SKIFF_RESERVED_CPU: String(2048 - request.node.cpu),
          SKIFF_RESERVED_MEMORY: String(hostMiB - request.node.memory),
          SKIFF_TASK_SUBNET_POOL: `10.${241 + provisioned.size}.0.0/16`,
        },
      });
      provisioned.set(name, { engine, agent });
    }
    return;
  }
  for (const node of request.nodes) {
    const found = provisioned.get(node.name);
    if (!found) throw new Error(`asked to remove unknown node ${node.name}`);
    await found.agent.stop("SIGTERM");
    await found.engine.stop();
    provisioned.delete(node.name);
  }
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "skiff-capacity-"));
  webhook = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      provision(JSON.parse(body) as ProvisionRequest).then(
        () => res.writeHead(204).end(),
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
    });
  });
  await new Promise<void>((listening) => webhook.listen(0, "127.0.0.1", listening));
  const { port } = webhook.address() as AddressInfo;
  const database = await createTestDatabase();
  dropDatabase = database.drop;
  skiff = await startSkiffProcess(workDir, {
    DATABASE_URL: database.url,
    REDIS_URL: inject("redisUrl"),
    SKIFF_ADMIN_TOKEN: adminToken,
    SKIFF_LOCAL_AGENT: "false",
    SKIFF_FARGATE_PROVISIONER_URL: `http://127.0.0.1:${port}/provision`,
    SKIFF_FARGATE_NODE_CPU: String(nodeSize.cpu),
    SKIFF_FARGATE_NODE_MEMORY: String(nodeSize.memory),
    SKIFF_FARGATE_SCALE_IN_AFTER_MS: "3000",
  });
  await waitForHealth(skiff, 15_000);
  client = new SkiffClient({ baseUrl: skiff.baseUrl, token: adminToken });
}, 60_000);

afterAll(async () => {
  await skiff?.end();
  for (const node of provisioned.values()) {
    await node.agent.stop("SIGTERM");
    await node.engine.stop();
  }
  webhook?.close();
  await dropDatabase?.();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}, 60_000);

/** What the test saw, for a failure message. */
async function explain(): Promise<string> {
  const agents = [...provisioned.values()].map((node) => node.agent.output().slice(-1500));
  const tasks = await client.listTasks();
  return `requests: ${JSON.stringify(requests)}; nodes: ${JSON.stringify(await client.listNodes())}; tasks: ${JSON.stringify(tasks.items.map((task) => [task.status, task.pendingReason, task.nodeId]))}; agents: ${agents.join("\n")}`;
}

describe("fargate capacity provider", () => {
  it("asks for a node when a task waits, runs the task there, and hands the node back when idle", async () => {
    expect(await client.listNodes({ pool: "fargate" })).toEqual([]);
    await client.registerTaskDefinition({
      family: "cap-web",
      cpu: 256,
      memory: 512,
      compatibilities: ["fargate"],
      containers: [{ name: "main", image, command: ["sleep", "300"], stopTimeoutSeconds: 1 }],
    });
    const [task] = await client.runTask({ taskDefinition: "cap-web", launchType: "fargate" });
    if (!task) throw new Error("no task");

    const running: Task = await waitFor(
      "the task running on a provisioned node",
      90_000,
      async () => {
        const current = await client.getTask(task.id);
        return current.status === "running" ? current : undefined;
      },
    );
    const scaleOut = requests.find((request) => request.action === "scale-out");
    expect(scaleOut).toMatchObject({
      action: "scale-out",
      pool: "fargate",
      count: 1,
      node: nodeSize,
    });
    const [node] = await client.listNodes({ pool: "fargate" });
    expect(running.nodeId).toBe(node?.id);
    expect(node?.capacity).toEqual(nodeSize);
    // One waiting task, one node: never asked twice while the first was booting.
    expect(requests.filter((request) => request.action === "scale-out")).toHaveLength(1);

    // Never scaled in while it runs a task, however long the cool-down has passed.
    await new Promise((done) => setTimeout(done, 6_000));
    expect(requests.some((request) => request.action === "scale-in")).toBe(false);

    await client.stopTask(task.id);
    await waitFor(
      "the idle node handed back and deregistered",
      60_000,
      async () => ((await client.listNodes({ pool: "fargate" })).length === 0 ? true : undefined),
      explain,
    );
    const scaleIn = requests.find((request) => request.action === "scale-in");
    expect(scaleIn).toMatchObject({ action: "scale-in", nodes: [{ id: node?.id }] });
    expect(provisioned.size).toBe(0);
  }, 240_000);
});
