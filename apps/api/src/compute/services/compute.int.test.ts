import { queryRows } from "@skiff/registry";
import type { RegisterTaskDefinition, RunTask, Task } from "@skiff/shared";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createControlLoops } from "../../jobs/control-loops.js";
import { ProtocolAgent } from "../../test/fake-agent.js";
import { createTestStack, type TestStack } from "../../test/harness.js";
import { markLostNodes } from "./nodes.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack();
});
afterAll(() => stack.close());

let poolCount = 0;

async function newPool(): Promise<string> {
  const name = `pool-${++poolCount}`;
  await stack.admin.createPool(name);
  return name;
}

async function register(family: string, extra: Record<string, unknown> = {}) {
  return stack.admin.registerTaskDefinition({
    family,
    cpu: "0.25 vCPU",
    memory: "512MiB",
    containers: [{ name: "web", image: "skiff-test/busybox:latest", command: ["httpd", "-f"] }],
    ...extra,
  } as RegisterTaskDefinition);
}

async function run(body: Record<string, unknown>): Promise<Task[]> {
  return stack.admin.runTask(body as RunTask);
}

const getTask = (id: string) => stack.admin.getTask(id);

describe("pools and task definitions", () => {
  it("refuses a duplicate pool and a join token for a missing one", async () => {
    const pool = await newPool();
    await expect(stack.admin.createPool(pool)).rejects.toMatchObject({ status: 409 });
    await expect(stack.admin.createJoinToken("nope")).rejects.toMatchObject({ status: 404 });
  });

  it("numbers revisions and keeps old ones", async () => {
    await register("web");
    await register("web", { memory: 1024 });
    const latest = await stack.admin.getTaskDefinition("web");
    const first = await stack.admin.getTaskDefinition("web:1");
    expect(latest).toMatchObject({ revision: 2, memory: 1024 });
    expect(first).toMatchObject({ revision: 1, memory: 512, cpu: 256 });
  });

  it("explains a bad task definition field by field and stores nothing", async () => {
    const error = await register("bad-one", {
      cpu: "lots",
      containers: [
        { name: "a", image: "x", essential: false },
        { name: "a", image: "y", essential: false },
      ],
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, code: "ValidationError" });
    expect(String((error as Error).message)).toMatch(/cpu/);
    await expect(stack.admin.getTaskDefinition("bad-one")).rejects.toMatchObject({ status: 404 });
  });

  it("refuses unknown task definitions, pools and revisions", async () => {
    await expect(run({ taskDefinition: "missing" })).rejects.toMatchObject({ status: 404 });
    await register("known");
    await expect(run({ taskDefinition: "known:99" })).rejects.toMatchObject({ status: 404 });
    await expect(run({ taskDefinition: "known", pool: "no-such-pool" })).rejects.toMatchObject({
      status: 404,
    });
    await expect(run({ taskDefinition: "Known Bad" })).rejects.toMatchObject({ status: 400 });
  });
});

describe("tasks on nodes", () => {
  it("places a task, hands it to the node's agent, and follows its reports to stopped", async () => {
    const pool = await newPool();
    const agent = await ProtocolAgent.join(stack, pool);
    await register("lifecycle");
    const before = await agent.assignments();
    const [task] = await run({ taskDefinition: "lifecycle", pool });
    expect(task).toMatchObject({ status: "pending", nodeId: agent.id, cpu: 256, memory: 512 });

    const assigned = await agent.assignments(before.index, "5s");
    expect(assigned.index).toBeGreaterThan(before.index);
    expect(assigned.assignments).toMatchObject([
      { taskId: task!.id, desiredStatus: "running", family: "lifecycle" },
    ]);
    // The registry the api advertises: the agent pulls from it with its node credential.
    expect(assigned.registryAddress).toBe("localhost:5000");
    const node = await stack.admin.getNode(agent.id);
    expect(node.allocated).toEqual({ cpu: 256, memory: 512 });

    expect((await agent.report(task!.id, { status: "running" })).status).toBe(204);
    expect(await getTask(task!.id)).toMatchObject({
      status: "running",
      startedAt: expect.any(String),
    });

    const stopping = await stack.admin.stopTask(task!.id);
    expect(stopping).toMatchObject({
      status: "stopping",
      desiredStatus: "stopped",
      stopCode: "UserInitiated",
    });
    expect((await agent.assignments()).assignments[0]?.desiredStatus).toBe("stopped");

    await agent.report(task!.id, { status: "stopped" });
    expect(await getTask(task!.id)).toMatchObject({
      status: "stopped",
      stopCode: "UserInitiated",
      stoppedAt: expect.any(String),
    });
    expect((await agent.assignments()).assignments).toEqual([]);
    const after = await stack.admin.getNode(agent.id);
    expect(after.allocated.cpu).toBe(0);
  });

  it("wakes a waiting long poll as soon as a task is placed", async () => {
    const pool = await newPool();
    const agent = await ProtocolAgent.join(stack, pool);
    await register("wake");
    const { index } = await agent.assignments();
    const started = Date.now();
    const waiting = agent.assignments(index, "20s");
    await new Promise((done) => setTimeout(done, 200));
    await run({ taskDefinition: "wake", pool });
    const woke = await waiting;
    expect(woke.assignments).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("records an essential container's exit as the stop reason", async () => {
    const pool = await newPool();
    const agent = await ProtocolAgent.join(stack, pool);
    await register("crashes");
    const [task] = await run({ taskDefinition: "crashes", pool });
    await agent.report(task!.id, {
      status: "stopped",
      stopCode: "EssentialContainerExited",
      reason: "Essential container web exited with code 3",
    });
    expect(await getTask(task!.id)).toMatchObject({
      status: "stopped",
      stopCode: "EssentialContainerExited",
      stoppedReason: /code 3/,
    });
  });

  it("keeps a task that does not fit waiting with the missing resource named, and places it when room appears", async () => {
    const pool = await newPool();
    await register("big", { cpu: 4096, memory: 2048 });
    const [task] = await run({ taskDefinition: "big", pool });
    expect(task).toMatchObject({
      status: "provisioning",
      nodeId: null,
      // Said once: not "no active node in the pool in pool ...".
      pendingReason: `unable to place: no active node in pool ${pool}`,
    });
    await ProtocolAgent.join(stack, pool, { cpu: 2048, memory: 8192 });
    const [loop] = createControlLoops(stack.services, { nodeDownAfterMs: 60_000 }).slice(1);
    loop!.start();
    await new Promise((done) => setTimeout(done, 300));
    expect(await getTask(task!.id)).toMatchObject({
      status: "provisioning",
      pendingReason: expect.stringMatching(/4096 cpu units/),
    });
    const roomy = await ProtocolAgent.join(stack, pool, { cpu: 8192, memory: 8192 });
    let placed = await getTask(task!.id);
    for (let i = 0; i < 50 && placed.status === "provisioning"; i++) {
      await new Promise((done) => setTimeout(done, 100));
      placed = await getTask(task!.id);
    }
    await loop!.stop();
    expect(placed).toMatchObject({ status: "pending", nodeId: roomy.id, pendingReason: null });
  });

  it("never puts two tasks on one fixed host port of a node", async () => {
    const pool = await newPool();
    const agent = await ProtocolAgent.join(stack, pool);
    await register("fixed-port", {
      containers: [
        {
          name: "web",
          image: "skiff-test/busybox:latest",
          portMappings: [{ containerPort: 80, hostPort: 8080 }],
        },
      ],
    });
    const [first, second] = await run({ taskDefinition: "fixed-port", pool, count: 2 });
    expect(first).toMatchObject({ status: "pending", nodeId: agent.id });
    expect(second).toMatchObject({
      status: "provisioning",
      pendingReason: expect.stringMatching(/host port 8080/),
    });
  });

  it("spreads tasks over nodes", async () => {
    const pool = await newPool();
    const a = await ProtocolAgent.join(stack, pool);
    const b = await ProtocolAgent.join(stack, pool);
    await register("spread");
    const tasks = await run({
      taskDefinition: "spread",
      pool,
      count: 4,
      placement: { strategy: "spread" },
    });
    const perNode = (id: string) => tasks.filter((task) => task.nodeId === id).length;
    expect([perNode(a.id), perNode(b.id)]).toEqual([2, 2]);
  });

  it("keeps a heartbeating node up, its last heartbeat copied from Redis by the node monitor", async () => {
    const pool = await newPool();
    const agent = await ProtocolAgent.join(stack, pool);
    await stack.services.db.execute(
      `update nodes set last_heartbeat_at = now() - interval '1 hour' where id = '${agent.id}'`,
    );
    const beat = new Date();
    expect((await agent.heartbeat()).status).toBe(200);
    expect(
      await markLostNodes(stack.services.db, stack.services.redis, new Date(), 15_000),
    ).not.toContain(agent.id);
    const node = await stack.admin.getNode(agent.id);
    expect(node.state).toBe("active");
    expect(new Date(node.lastHeartbeatAt ?? 0).getTime()).toBeGreaterThanOrEqual(
      beat.getTime() - 1000,
    );
  });

  it("keeps the agent's control port for function instances from its heartbeats", async () => {
    const pool = await newPool();
    const agent = await ProtocolAgent.join(stack, pool);
    const controlPort = async () =>
      (
        await queryRows<{ control_port: number | null }>(
          stack.services.db,
          sql`select control_port from nodes where id = ${agent.id}`,
        )
      )[0]?.control_port;
    expect(await controlPort()).toBeNull();
    expect((await agent.heartbeat({ controlPort: 7070, functionInstanceIds: [] })).status).toBe(
      200,
    );
    expect(await controlPort()).toBe(7070);
    // A restarted agent on another port: the api routes to the new one.
    expect((await agent.heartbeat({ controlPort: 41234 })).status).toBe(200);
    expect(await controlPort()).toBe(41234);
    expect((await agent.heartbeat({ controlPort: 0 })).status).toBe(400);
  });

  it("marks a silent node down and stops its tasks with NodeLost; a drained node takes no task", async () => {
    const pool = await newPool();
    const agent = await ProtocolAgent.join(stack, pool);
    await register("lost");
    const [task] = await run({ taskDefinition: "lost", pool });
    await markLostNodes(
      stack.services.db,
      stack.services.redis,
      new Date(Date.now() + 60_000),
      15_000,
    );
    expect(await getTask(task!.id)).toMatchObject({ status: "stopped", stopCode: "NodeLost" });
    expect((await agent.assignments()).nodeState).toBe("down");
    await agent.heartbeat();
    expect((await agent.assignments()).assignments).toEqual([]);

    await stack.admin.drainNode(agent.id);
    const [waiting] = await run({ taskDefinition: "lost", pool });
    expect(waiting).toMatchObject({
      status: "provisioning",
      pendingReason: expect.stringMatching(/no active node/),
    });
  });

  it("refuses a report from a node about another node's task", async () => {
    const pool = await newPool();
    const owner = await ProtocolAgent.join(stack, pool);
    const other = await ProtocolAgent.join(stack, pool);
    await register("owned", { cpu: 2048 });
    const [task] = await run({
      taskDefinition: "owned",
      pool,
      placement: { strategy: "binpack", constraints: [] },
    });
    const stranger = task!.nodeId === owner.id ? other : owner;
    expect((await stranger.report(task!.id, { status: "running" })).status).toBe(404);
  });
});
