import type { RegisterTaskDefinition, Service } from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProtocolAgent } from "../../test/fake-agent.js";
import { createTestStack, type TestStack } from "../../test/harness.js";
import { markLostNodes } from "./nodes.js";
import { reconcileService } from "./service-scheduler.js";

// The service scheduler through the REST API, with agents that speak the real protocol and
// report what a test tells them to (the agent's own tests cover real containers).
let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack();
});
afterAll(() => stack.close());

let pools = 0;
async function setUp(nodeCount = 2) {
  const pool = `svc-pool-${++pools}`;
  await stack.admin.createPool(pool);
  const agents = [];
  for (let i = 0; i < nodeCount; i++) agents.push(await ProtocolAgent.join(stack, pool));
  return { pool, agents };
}

const definition = (family: string, command: string[]): RegisterTaskDefinition => ({
  family,
  cpu: 256,
  memory: 256,
  containers: [{ name: "web", image: "skiff-test/busybox:latest", command }],
});

/** What agents do: start what they are given (or fail it), and confirm stops. */
type Behaviour = (revision: number) => "run" | "crash";

async function agentsAct(agents: ProtocolAgent[], behaviour: Behaviour) {
  for (const agent of agents) {
    for (const assignment of (await agent.assignments()).assignments) {
      const task = await stack.admin.getTask(assignment.taskId);
      if (assignment.desiredStatus === "stopped")
        await agent.report(task.id, { status: "stopped" });
      else if (task.status === "pending" && behaviour(assignment.revision) === "crash") {
        await agent.report(task.id, {
          status: "stopped",
          stopCode: "EssentialContainerExited",
          reason: "Essential container web exited with code 1",
        });
      } else if (task.status === "pending") await agent.report(task.id, { status: "running" });
    }
  }
}

/** Runs scheduler passes and agent reactions until `done` holds (or gives up). */
async function settle(
  name: string,
  agents: ProtocolAgent[],
  done: (service: Service) => boolean,
  behaviour: Behaviour = () => "run",
) {
  let service = (await getService(name)) as Service;
  for (let pass = 0; pass < 40 && !done(service); pass++) {
    await reconcileService(stack.services.db, name, new Date());
    await agentsAct(agents, behaviour);
    service = (await getService(name)) as Service;
  }
  return service;
}

async function getService(name: string): Promise<Service | undefined> {
  const response = await stack.request(`/v1/services/${name}`, {
    headers: { authorization: `Bearer ${stack.adminToken}` },
  });
  return response.status === 200 ? ((await response.json()) as Service) : undefined;
}

async function call(method: string, path: string, body?: unknown) {
  const response = await stack.request(path, {
    method,
    headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as Service & { error?: { code: string; message: string } },
  };
}

describe("services", () => {
  it("reaches its desired count spread over nodes, then a steady state", async () => {
    const { pool, agents } = await setUp();
    await stack.admin.registerTaskDefinition(definition("steady", ["httpd", "-f"]));
    const created = await call("POST", "/v1/services", {
      name: "steady",
      taskDefinition: "steady",
      desiredCount: 4,
      pool,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const service = await settle("steady", agents, (s) =>
      s.events.some((e) => /steady state/.test(e.message)),
    );
    expect(service).toMatchObject({ runningCount: 4, desiredCount: 4 });
    const { items } = await stack.admin.listTasks({ service: "steady", status: "running" });
    expect(items.filter((t) => t.nodeId === agents[0]!.id)).toHaveLength(2);
    expect(items.filter((t) => t.nodeId === agents[1]!.id)).toHaveLength(2);
  });

  it("rolls a new revision without ever dropping below the desired healthy count", async () => {
    const { pool, agents } = await setUp();
    await stack.admin.registerTaskDefinition(definition("roll", ["httpd", "-f"]));
    await call("POST", "/v1/services", {
      name: "roll",
      taskDefinition: "roll",
      desiredCount: 2,
      pool,
    });
    await settle(
      "roll",
      agents,
      (s) => s.runningCount === 2 && s.deployments[0]?.rolloutState === "completed",
    );
    await stack.admin.registerTaskDefinition(definition("roll", ["httpd", "-f", "-v"]));
    expect((await call("PATCH", "/v1/services/roll", { taskDefinition: "roll:2" })).status).toBe(
      200,
    );

    let lowest = Number.POSITIVE_INFINITY;
    let service: Service | undefined;
    for (let pass = 0; pass < 40; pass++) {
      await reconcileService(stack.services.db, "roll", new Date());
      const running = (await stack.admin.listTasks({ service: "roll", status: "running" })).items;
      lowest = Math.min(lowest, running.filter((t) => t.desiredStatus === "running").length);
      await agentsAct(agents, () => "run");
      service = await getService("roll");
      if (service?.deployments.length === 1 && service.deployments[0]?.rolloutState === "completed")
        break;
    }
    expect(service).toMatchObject({ taskDefinition: "roll:2", runningCount: 2 });
    expect(service?.deployments).toHaveLength(1);
    expect(lowest).toBeGreaterThanOrEqual(2);
  });

  it("trips the circuit breaker on a revision whose tasks crash, and rolls back", async () => {
    const { pool, agents } = await setUp();
    await stack.admin.registerTaskDefinition(definition("breaker", ["httpd", "-f"]));
    await call("POST", "/v1/services", {
      name: "breaker",
      taskDefinition: "breaker",
      desiredCount: 2,
      pool,
    });
    await settle("breaker", agents, (s) => s.deployments[0]?.rolloutState === "completed");
    await stack.admin.registerTaskDefinition(definition("breaker", ["sh", "-c", "exit 1"]));
    await call("PATCH", "/v1/services/breaker", { taskDefinition: "breaker:2" });

    const service = await settle(
      "breaker",
      agents,
      (s) =>
        s.taskDefinition === "breaker:1" &&
        s.deployments.length === 1 &&
        s.deployments[0]?.rolloutState === "completed",
      (revision) => (revision === 2 ? "crash" : "run"),
    );
    expect(service.taskDefinition).toBe("breaker:1");
    expect(service.runningCount).toBe(2);
    expect(service.events.map((e) => e.message).join("\n")).toMatch(/failed.*circuit breaker/);
    expect(service.events.map((e) => e.message).join("\n")).toMatch(/rollback/);
  });

  it("backs off relaunching tasks that keep crashing, with nothing to roll back to", async () => {
    const { pool, agents } = await setUp();
    await stack.admin.registerTaskDefinition(definition("crashloop", ["sh", "-c", "exit 1"]));
    await call("POST", "/v1/services", {
      name: "crashloop",
      taskDefinition: "crashloop",
      desiredCount: 2,
      pool,
    });
    const crash = () => "crash" as const;
    const launched = async () =>
      (await stack.admin.listTasks({ service: "crashloop", limit: 100 })).items.length;
    // Two waves of 2 crash (4 failures, the breaker's threshold is 3); the next launch waits
    // 10 s after the last failure, however many passes run meanwhile.
    await settle("crashloop", agents, () => false, crash);
    expect(await launched()).toBe(4);
    const service = (await getService("crashloop")) as Service;
    expect(service.events.map((e) => e.message).join("\n")).toMatch(
      /waits \d+ s before launching tasks again: 4 tasks of crashloop:1 failed/,
    );

    await reconcileService(stack.services.db, "crashloop", new Date(Date.now() + 11_000));
    expect(await launched()).toBe(6);
  });

  it("replaces the tasks of a lost node on the other node", async () => {
    const { pool, agents } = await setUp();
    await stack.admin.registerTaskDefinition(definition("heal", ["httpd", "-f"]));
    await call("POST", "/v1/services", {
      name: "heal",
      taskDefinition: "heal",
      desiredCount: 4,
      pool,
    });
    await settle("heal", agents, (s) => s.runningCount === 4);
    const [lost, survivor] = agents as [ProtocolAgent, ProtocolAgent];
    await stack.services.db.execute(
      `update nodes set last_heartbeat_at = now() - interval '1 hour' where id = '${lost.id}'`,
    );
    await markLostNodes(stack.services.db, stack.services.redis, new Date(), 15_000);
    const service = await settle("heal", [survivor], (s) => s.runningCount === 4);
    expect(service.runningCount).toBe(4);
    const running = (await stack.admin.listTasks({ service: "heal", status: "running" })).items;
    expect(running.every((t) => t.nodeId === survivor.id)).toBe(true);
  });

  it("moves its tasks off a draining node, keeping them all healthy meanwhile", async () => {
    const { pool, agents } = await setUp();
    await stack.admin.registerTaskDefinition(definition("drainme", ["httpd", "-f"]));
    await call("POST", "/v1/services", {
      name: "drainme",
      taskDefinition: "drainme",
      desiredCount: 4,
      pool,
    });
    await settle("drainme", agents, (s) => s.runningCount === 4);
    const [drained, kept] = agents as [ProtocolAgent, ProtocolAgent];
    await stack.admin.drainNode(drained.id);
    let lowest = Number.POSITIVE_INFINITY;
    for (let pass = 0; pass < 40; pass++) {
      await reconcileService(stack.services.db, "drainme", new Date());
      const running = (await stack.admin.listTasks({ service: "drainme", status: "running" }))
        .items;
      lowest = Math.min(lowest, running.filter((t) => t.desiredStatus === "running").length);
      if (running.length === 4 && running.every((t) => t.nodeId === kept.id)) break;
      await agentsAct(agents, () => "run");
    }
    const running = (await stack.admin.listTasks({ service: "drainme", status: "running" })).items;
    expect(running.map((t) => t.nodeId)).toEqual([kept.id, kept.id, kept.id, kept.id]);
    expect(lowest).toBeGreaterThanOrEqual(4);
  });

  it("scales down and is deleted with its tasks", async () => {
    const { pool, agents } = await setUp();
    await stack.admin.registerTaskDefinition(definition("bye", ["httpd", "-f"]));
    await call("POST", "/v1/services", {
      name: "bye",
      taskDefinition: "bye",
      desiredCount: 3,
      pool,
    });
    await settle("bye", agents, (s) => s.runningCount === 3);
    await call("PATCH", "/v1/services/bye", { desiredCount: 1 });
    expect((await settle("bye", agents, (s) => s.runningCount === 1)).runningCount).toBe(1);
    expect((await call("DELETE", "/v1/services/bye")).status).toBe(200);
    for (let pass = 0; pass < 10 && (await getService("bye")); pass++) {
      await reconcileService(stack.services.db, "bye", new Date());
      await agentsAct(agents, () => "run");
    }
    expect(await getService("bye")).toBeUndefined();
    const left = (await stack.admin.listTasks({ service: "bye" })).items.filter(
      (t) => t.status !== "stopped",
    );
    expect(left).toEqual([]);
  });

  it("refuses bad services clearly and creates nothing", async () => {
    const { pool } = await setUp(1);
    await stack.admin.registerTaskDefinition(definition("strict", ["httpd", "-f"]));
    const cases: [unknown, number, RegExp][] = [
      [{ name: "Bad Name", taskDefinition: "strict", desiredCount: 1, pool }, 400, /name/],
      [{ name: "x", taskDefinition: "nope", desiredCount: 1, pool }, 404, /nope/],
      [{ name: "x", taskDefinition: "strict", desiredCount: -1, pool }, 400, /desiredCount/],
      [{ name: "x", taskDefinition: "strict", desiredCount: 1, pool: "nowhere" }, 404, /nowhere/],
      [
        {
          name: "x",
          taskDefinition: "strict",
          desiredCount: 1,
          pool,
          loadBalancer: { containerName: "web", containerPort: 80 },
        },
        400,
        /containerPort 80/,
      ],
      [
        {
          name: "x",
          taskDefinition: "strict",
          desiredCount: 1,
          pool,
          deployment: { minimumHealthyPercent: 100, maximumPercent: 100 },
        },
        400,
        /maximumPercent/,
      ],
    ];
    for (const [body, status, message] of cases) {
      const result = await call("POST", "/v1/services", body);
      expect(result.status, JSON.stringify(result.body)).toBe(status);
      expect(result.body.error?.message).toMatch(message);
    }
    expect(await getService("x")).toBeUndefined();
    await call("POST", "/v1/services", {
      name: "once",
      taskDefinition: "strict",
      desiredCount: 0,
      pool,
    });
    expect(
      (
        await call("POST", "/v1/services", {
          name: "once",
          taskDefinition: "strict",
          desiredCount: 0,
          pool,
        })
      ).status,
    ).toBe(409);
    // An API answers at <name>.<domain> on the gateway, as a service does.
    expect((await call("POST", "/v1/apis", { name: "storefront" })).status).toBe(201);
    const taken = await call("POST", "/v1/services", {
      name: "storefront",
      taskDefinition: "strict",
      desiredCount: 0,
      pool,
    });
    expect(taken.status).toBe(409);
    expect(taken.body.error?.message).toMatch(/API storefront already answers/);
    expect(await getService("storefront")).toBeUndefined();
  });
});
