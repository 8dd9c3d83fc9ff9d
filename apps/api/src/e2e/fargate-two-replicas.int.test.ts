import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SkiffClient } from "@skiff/shared";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import type { ProvisionRequest } from "../fargate/services/provisioner.js";
import { createTestDatabase } from "../test/harness.js";
import { type SkiffProcess, startSkiffProcess, waitForHealth } from "../test/process.js";
import { waitFor } from "../test/wait.js";

// Two api replicas on one database and Redis, and an operator's provisioner that takes 10 s to
// answer: longer than the capacity loop's lease (3 x 2 s). The leader's slow pass must keep its
// lease, and the request must be known to be in flight while the call runs, so the other replica
// never asks again; the service's tasks are launched once, not by both replicas.
const adminToken = "e2e-two-replicas-token-0123456789abcdef";
const nodeSize = { cpu: 1024, memory: 2048 };
const provisionerDelayMs = 10_000;

const dirs: string[] = [];
const replicas: SkiffProcess[] = [];
let client: SkiffClient;
let webhook: Server;
let dropDatabase: (() => Promise<void>) | undefined;
const requests: ProvisionRequest[] = [];

/** The operator's side: waits, then registers each node asked for as an agent would. */
async function provision(request: ProvisionRequest): Promise<void> {
  requests.push(request);
  await new Promise((done) => setTimeout(done, provisionerDelayMs));
  if (request.action !== "scale-out") return;
  for (let index = 0; index < request.count; index++) {
    const response = await fetch(`${request.apiUrl}/v1/agent/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        joinToken: request.joinToken,
        name: `two-replicas-${randomBytes(4).toString("hex")}`,
        capacity: request.node,
        attributes: { "skiff.provisioned": "true" },
        address: "10.0.0.1",
      }),
    });
    if (response.status !== 201) throw new Error(`register: ${await response.text()}`);
  }
}

beforeAll(async () => {
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
  const prefix = `test:two-replicas-${randomBytes(4).toString("hex")}:`;
  for (let index = 0; index < 2; index++) {
    const dir = mkdtempSync(join(tmpdir(), "skiff-two-replicas-"));
    dirs.push(dir);
    replicas.push(
      await startSkiffProcess(dir, {
        DATABASE_URL: database.url,
        REDIS_URL: inject("redisUrl"),
        SKIFF_REDIS_PREFIX: prefix,
        SKIFF_ADMIN_TOKEN: adminToken,
        SKIFF_LOCAL_AGENT: "false",
        SKIFF_FARGATE_PROVISIONER_URL: `http://127.0.0.1:${port}/provision`,
        SKIFF_FARGATE_NODE_CPU: String(nodeSize.cpu),
        SKIFF_FARGATE_NODE_MEMORY: String(nodeSize.memory),
        // The fake nodes send no heartbeats; they must not go down during the test.
        SKIFF_NODE_DOWN_AFTER_MS: "300000",
      }),
    );
  }
  for (const replica of replicas) await waitForHealth(replica, 20_000);
  const first = replicas[0];
  if (!first) throw new Error("no replica");
  client = new SkiffClient({ baseUrl: first.baseUrl, token: adminToken });
}, 60_000);

afterAll(async () => {
  for (const replica of replicas) await replica.stop();
  webhook?.close();
  await dropDatabase?.();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}, 60_000);

it("asks a slow provisioner once and launches the service's tasks once, with two replicas", async () => {
  await client.registerTaskDefinition({
    family: "two-replicas",
    cpu: 256,
    memory: 512,
    compatibilities: ["fargate"],
    containers: [{ name: "main", image: "skiff-test/busybox:latest", command: ["sleep", "300"] }],
  });
  await client.createService({
    name: "two-replicas",
    taskDefinition: "two-replicas",
    desiredCount: 3,
    launchType: "fargate",
  });
  const explain = async () =>
    `requests: ${JSON.stringify(requests)}; tasks: ${JSON.stringify(
      (await client.listTasks({ service: "two-replicas" })).items.map((task) => [
        task.id,
        task.status,
        task.nodeId,
        task.pendingReason,
      ]),
    )}; logs: ${replicas.map((replica) => replica.output().slice(-2000)).join("\n---\n")}`;

  const placed = await waitFor(
    "the three tasks placed on the provisioned node",
    60_000,
    async () => {
      const { items } = await client.listTasks({ service: "two-replicas" });
      return items.length >= 3 && items.every((task) => task.nodeId) ? items : undefined;
    },
    explain,
  );
  // Past a settle window, when a second leader (or the same one) could still ask again.
  await new Promise((done) => setTimeout(done, 8_000));
  const scaleOuts = requests.filter((request) => request.action === "scale-out");
  expect(scaleOuts, await explain()).toHaveLength(1);
  expect(scaleOuts[0]).toMatchObject({ count: 1, node: nodeSize });
  const { items } = await client.listTasks({ service: "two-replicas" });
  expect(
    items.filter((task) => task.status !== "stopped"),
    await explain(),
  ).toHaveLength(3);
  expect(new Set(placed.map((task) => task.nodeId)).size).toBe(1);
  expect(await client.listNodes({ pool: "fargate" })).toHaveLength(1);
}, 120_000);
