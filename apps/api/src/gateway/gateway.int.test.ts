import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reconcileService } from "../compute/services/service-scheduler.js";
import { createLogger } from "../lib/logger.js";
import { ProtocolAgent } from "../test/fake-agent.js";
import { call, type ServedGateway, serveGateway } from "../test/gateway.js";
import { createTestStack, type TestStack } from "../test/harness.js";
import { TargetTable } from "./targets.js";

// The load balancer with real upstream HTTP servers standing in for task containers (their host
// ports are what the agent would report).
let stack: TestStack;
let table: TargetTable;
let gateway: ServedGateway;
const upstreams: Server[] = [];

function upstream(name: string): Promise<number> {
  const server = createServer((req, res) => res.end(`${name} ${req.url}`));
  upstreams.push(server);
  return new Promise((done) =>
    server.listen(0, "127.0.0.1", () => done((server.address() as AddressInfo).port)),
  );
}

beforeAll(async () => {
  stack = await createTestStack();
  table = new TargetTable(stack.services.db, stack.services.redis, createLogger("silent"), 60_000);
  await table.start();
  gateway = await serveGateway({
    targets: table,
    domain: "skiff.test",
    logger: createLogger("silent"),
  });
});
afterAll(async () => {
  await gateway.close();
  await table.stop();
  for (const server of upstreams) server.close();
  await stack.close();
});

async function get(host: string, path = "/") {
  const response = await call(gateway.port, host, path);
  return { status: response.status, text: response.body.toString() };
}

async function waitFor(check: () => Promise<boolean>, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((done) => setTimeout(done, 50));
  }
}

describe("gateway load balancer", () => {
  it("round-robins over running tasks and drops a stopped one at once", async () => {
    await stack.admin.createPool("lb");
    const agent = await ProtocolAgent.join(stack, "lb", undefined, {}, "127.0.0.1");
    await stack.admin.registerTaskDefinition({
      family: "site",
      cpu: 256,
      memory: 256,
      containers: [
        {
          name: "web",
          image: "skiff-test/busybox:latest",
          portMappings: [{ containerPort: 8080 }],
        },
      ],
    });
    await stack.admin.request("POST", "/v1/services", undefined, {
      name: "site",
      taskDefinition: "site",
      desiredCount: 2,
      pool: "lb",
      loadBalancer: { containerName: "web", containerPort: 8080 },
    });
    expect((await get("site.skiff.test")).status).toBe(503);

    await reconcileService(stack.services.db, "site", new Date());
    const ports = [await upstream("a"), await upstream("b")];
    const { assignments } = await agent.assignments();
    for (const [i, assignment] of assignments.entries()) {
      await agent.report(assignment.taskId, {
        status: "running",
        containers: [
          {
            name: "web",
            image: "skiff-test/busybox:latest",
            status: "running",
            containerId: `c${i}`,
            exitCode: null,
            reason: null,
            health: "unknown",
            hostPorts: [{ containerPort: 8080, hostPort: ports[i] as number, protocol: "tcp" }],
          },
        ],
      });
    }
    // The report published a change: the table reloads without waiting for its refresh.
    await waitFor(async () => table.get("site")?.length === 2);
    const answers = await Promise.all([1, 2, 3, 4].map(() => get("site.skiff.test", "/hello?x=1")));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(answers.map((a) => a.text).sort()).toEqual([
      "a /hello?x=1",
      "a /hello?x=1",
      "b /hello?x=1",
      "b /hello?x=1",
    ]);
    expect((await get("localhost", "/_/services/site/path?q=2")).text).toMatch(
      /^[ab] \/path\?q=2$/,
    );
    expect((await get("127.0.0.1:8000", "/_/services/site/")).text).toMatch(/^[ab] \/$/);
    // Under a service's host name the gateway's own paths are not served: no service's content
    // appears in another's origin.
    const crossed = await get("other.skiff.test", "/_/services/site/path");
    expect(crossed.status, crossed.text).toBe(404);
    expect(JSON.parse(crossed.text).error.code).toBe("NotFound");

    await stack.admin.stopTask(assignments[0]!.taskId);
    await waitFor(async () => table.get("site")?.length === 1);
    const after = await Promise.all([1, 2, 3].map(() => get("site.skiff.test")));
    expect(after.every((a) => a.text.startsWith("b "))).toBe(true);
    // Connection draining: the stopping task's node still runs it for now.
    expect(
      (await agent.assignments()).assignments.find((a) => a.taskId === assignments[0]!.taskId)
        ?.desiredStatus,
    ).toBe("running");
  });

  it("skips a target that refuses connections", async () => {
    const alive = await upstream("alive");
    const targets = {
      get: () => [
        { taskId: "dead", url: "http://127.0.0.1:1" },
        { taskId: "alive", url: `http://127.0.0.1:${alive}` },
      ],
    };
    const app = await serveGateway({
      targets,
      domain: "skiff.test",
      logger: createLogger("silent"),
    });
    try {
      for (let i = 0; i < 4; i++) {
        const response = await call(app.port, "x.skiff.test", "/");
        expect(response.body.toString()).toBe("alive /");
      }
    } finally {
      await app.close();
    }
  });

  it("answers 404 for an unknown host in the error body", async () => {
    const response = await get("elsewhere.example");
    expect(response.status).toBe(404);
    expect(JSON.parse(response.text).error.code).toBe("NotFound");
  });
});
