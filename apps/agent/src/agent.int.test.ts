import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Assignment, Assignments } from "@skiff/shared";
import Docker from "dockerode";
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "./agent.js";
import { parseEnv } from "./env.js";
import { createLogger } from "./lib/logger.js";

const docker = new Docker();
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Call {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
}

/**
 * A stand-in for the api's agent routes, over real HTTP: what the agent sends is recorded, and
 * assignments answer like the blocking query (at once when the index moved, else on a change).
 */
async function startFakeApi(nodeId: string) {
  const calls: Call[] = [];
  let current: Assignments = { index: 1, nodeState: "active", assignments: [] };
  const waiters = new Set<() => void>();

  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://x");
    const body = await readBody(request);
    calls.push({
      method: request.method ?? "",
      path: url.pathname,
      authorization: request.headers.authorization,
      body,
    });
    const reply = (status: number, value: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(value));
    };
    if (url.pathname === "/v1/agent/register") {
      return reply(201, {
        nodeId,
        pool: "default",
        credential: "node-credential",
        heartbeatIntervalSeconds: 1,
      });
    }
    if (url.pathname.endsWith("/heartbeat")) return reply(200, { nodeState: "active" });
    if (url.pathname.endsWith("/status")) return reply(204, null);
    if (url.pathname.endsWith("/assignments")) {
      const index = Number(url.searchParams.get("index") ?? 0);
      if (current.index <= index) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 2000);
          waiters.add(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return reply(200, current);
    }
    return reply(404, { error: { code: "NotFound", message: "no", requestId: "r" } });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    assign(assignments: Assignment[]) {
      current = { ...current, index: current.index + 1, assignments };
      for (const wake of waiters) wake();
      waiters.clear();
    },
  };
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : undefined;
}

async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function containerIds(nodeId: string): Promise<string[]> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`skiff.node=${nodeId}`] },
  });
  return list.map((container) => container.Id);
}

describe("Agent", () => {
  it("registers once, runs its assignments, and a restarted agent adopts them", async () => {
    const nodeId = `node_test_${randomUUID().slice(0, 8)}`;
    const stateDir = await mkdtemp(join(tmpdir(), "skiff-agent-"));
    cleanups.push(async () => {
      await rm(stateDir, { recursive: true, force: true });
      const ids = await containerIds(nodeId);
      await Promise.all(ids.map((id) => docker.getContainer(id).remove({ force: true })));
    });
    const api = await startFakeApi(nodeId);
    const logger = createLogger("silent");
    const env = parseEnv({
      SKIFF_API_URL: api.url,
      SKIFF_JOIN_TOKEN: "join-token",
      SKIFF_AGENT_STATE_DIR: stateDir,
      SKIFF_NODE_ATTRIBUTES: "zone=test",
    });

    const agent = new Agent({ env, logger, reconcileIntervalMs: 300, assignmentsWaitSeconds: 2 });
    await agent.start();
    expect(agent.nodeId).toBe(nodeId);

    const register = api.calls.find((call) => call.path === "/v1/agent/register");
    expect(register?.body).toMatchObject({
      joinToken: "join-token",
      capacity: { cpu: expect.any(Number), memory: expect.any(Number) },
      attributes: { os: "linux", zone: "test", hostname: expect.any(String) },
    });
    const statePath = join(stateDir, "node.json");
    expect((await stat(statePath)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(statePath, "utf8"))).toMatchObject({
      nodeId,
      credential: "node-credential",
    });

    const taskId = `task_${randomUUID().slice(0, 12)}`;
    api.assign([
      {
        taskId,
        desiredStatus: "running",
        family: "sleeper",
        revision: 1,
        service: null,
        launchType: "pool",
        cpu: 128,
        memory: 32,
        containers: [
          {
            name: "main",
            image: "skiff-test/busybox:latest",
            command: ["sleep", "600"],
            essential: true,
            stopTimeoutSeconds: 1,
          },
        ],
      },
    ]);
    const reportPath = `/v1/agent/nodes/${nodeId}/tasks/${taskId}/status`;
    const reported = (status: string) =>
      api.calls.some(
        (call) => call.path === reportPath && (call.body as { status?: string }).status === status,
      );
    await eventually(() => reported("running"));
    const report = api.calls.find((call) => call.path === reportPath);
    expect(report?.authorization).toBe("Bearer node-credential");
    await eventually(() =>
      api.calls.some(
        (call) =>
          call.path.endsWith("/heartbeat") &&
          (call.body as { taskIds: string[] }).taskIds.includes(taskId),
      ),
    );

    await agent.stop();
    const [running] = await containerIds(nodeId);
    expect(running, "the container outlives the agent").toBeDefined();

    // Restart without a join token: the state file is enough, and nothing is duplicated.
    const registrations = api.calls.filter((call) => call.path === "/v1/agent/register").length;
    const restarted = new Agent({
      env: { ...env, SKIFF_JOIN_TOKEN: undefined },
      logger,
      reconcileIntervalMs: 300,
      assignmentsWaitSeconds: 2,
    });
    await restarted.start();
    const callsBefore = api.calls.length;
    await eventually(() =>
      api.calls.slice(callsBefore).some((call) => call.path.endsWith("/assignments")),
    );
    await new Promise((resolve) => setTimeout(resolve, 700));
    await restarted.stop();
    expect(api.calls.filter((call) => call.path === "/v1/agent/register")).toHaveLength(
      registrations,
    );
    expect(await containerIds(nodeId)).toEqual([running]);
  });
});
