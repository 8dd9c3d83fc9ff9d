import { afterAll, beforeAll, expect, it } from "vitest";
import { type OpenDatabase, openDatabase } from "../../db/client.js";
import { ProtocolAgent } from "../../test/fake-agent.js";
import { createTestStack, type TestStack } from "../../test/harness.js";
import { getNode } from "./nodes.js";
import { placeTasks } from "./scheduler.js";
import { createTasks, listTasks } from "./tasks.js";

// Two api replicas (two connection pools) place the same tasks at once: no node may ever hold
// more than its capacity, and each task is placed once.
let stack: TestStack;
let otherReplica: OpenDatabase;
beforeAll(async () => {
  stack = await createTestStack();
  otherReplica = await openDatabase({ url: stack.databaseUrl, dataDir: "", poolSize: 4 });
});
afterAll(async () => {
  await otherReplica.close();
  await stack.close();
});

it("never over-commits a node when two schedulers race", async () => {
  await stack.admin.request("POST", "/v1/pools", undefined, { name: "race" });
  const nodes = [
    await ProtocolAgent.join(stack, "race", { cpu: 1024, memory: 100_000 }),
    await ProtocolAgent.join(stack, "race", { cpu: 1024, memory: 100_000 }),
  ];
  await stack.admin.request("POST", "/v1/task-definitions", undefined, {
    family: "racer",
    cpu: 256,
    memory: 128,
    containers: [{ name: "main", image: "skiff-test/busybox:latest" }],
  });
  const ids = [
    ...(await createTasks(stack.database.db, {
      taskDefinition: "racer",
      launchType: "pool",
      pool: "race",
      count: 10,
    })),
    ...(await createTasks(stack.database.db, {
      taskDefinition: "racer",
      launchType: "pool",
      pool: "race",
      count: 10,
    })),
  ];

  const replicaA = (async () => {
    for (const id of ids) await placeTasks(stack.database.db, [id]);
  })();
  const replicaB = (async () => {
    for (const id of [...ids].reverse()) await placeTasks(otherReplica.db, [id]);
  })();
  await Promise.all([replicaA, replicaB]);

  const { items } = await listTasks(stack.database.db, { family: "racer", limit: 500 });
  const placed = items.filter((task) => task.nodeId !== null);
  expect(placed).toHaveLength(8);
  expect(items.filter((task) => task.status === "provisioning")).toHaveLength(12);
  for (const agent of nodes) {
    const node = await getNode(stack.database.db, agent.id);
    const onNode = placed.filter((task) => task.nodeId === agent.id);
    expect(node.allocated.cpu).toBe(onNode.length * 256);
    expect(node.allocated.cpu).toBeLessThanOrEqual(node.capacity.cpu);
  }
});

it("never gives one host port twice on a node, nor breaks distinctHost, when two schedulers race", async () => {
  await stack.admin.request("POST", "/v1/pools", undefined, { name: "race-ports" });
  const nodes = [
    await ProtocolAgent.join(stack, "race-ports", { cpu: 100_000, memory: 100_000 }),
    await ProtocolAgent.join(stack, "race-ports", { cpu: 100_000, memory: 100_000 }),
    await ProtocolAgent.join(stack, "race-ports", { cpu: 100_000, memory: 100_000 }),
  ];
  await stack.admin.request("POST", "/v1/task-definitions", undefined, {
    family: "porter",
    cpu: 64,
    memory: 64,
    containers: [
      {
        name: "main",
        image: "skiff-test/busybox:latest",
        portMappings: [{ containerPort: 80, hostPort: 8080 }],
      },
    ],
  });
  await stack.admin.request("POST", "/v1/task-definitions", undefined, {
    family: "loner",
    cpu: 64,
    memory: 64,
    containers: [{ name: "main", image: "skiff-test/busybox:latest" }],
  });
  const ids = [
    ...(await createTasks(stack.database.db, {
      taskDefinition: "porter",
      launchType: "pool",
      pool: "race-ports",
      count: 10,
    })),
    ...(await createTasks(stack.database.db, {
      taskDefinition: "loner",
      launchType: "pool",
      pool: "race-ports",
      count: 10,
      placement: { strategy: "binpack", constraints: [{ type: "distinctHost" }] },
    })),
  ];
  // Each replica places with four connections at once, from either end of the list.
  const replica = (db: typeof stack.database.db, order: string[]) =>
    Array.from({ length: 4 }, async (_, worker) => {
      for (const id of order.filter((_, index) => index % 4 === worker)) await placeTasks(db, [id]);
    });
  await Promise.all([
    ...replica(stack.database.db, ids),
    ...replica(otherReplica.db, [...ids].reverse()),
  ]);

  for (const family of ["porter", "loner"]) {
    const { items } = await listTasks(stack.database.db, { family, limit: 500 });
    const placedOn = items.flatMap((task) => (task.nodeId ? [task.nodeId] : []));
    expect(placedOn, JSON.stringify(items)).toHaveLength(nodes.length);
    expect(new Set(placedOn).size, JSON.stringify(items)).toBe(nodes.length);
  }
});

it("never over-commits a node when batched placements race, and tells the tasks left why", async () => {
  await stack.admin.request("POST", "/v1/pools", undefined, { name: "race-batch" });
  // 3 nodes of 4 slots (cpu) each: 12 of the 40 tasks fit.
  const nodes = await Promise.all(
    Array.from({ length: 3 }, () =>
      ProtocolAgent.join(stack, "race-batch", { cpu: 1024, memory: 100_000 }),
    ),
  );
  await stack.admin.request("POST", "/v1/task-definitions", undefined, {
    family: "batched",
    cpu: 256,
    memory: 128,
    containers: [{ name: "main", image: "skiff-test/busybox:latest" }],
  });
  const ids: string[] = [];
  for (let round = 0; round < 4; round++)
    ids.push(
      ...(await createTasks(stack.database.db, {
        taskDefinition: "batched",
        launchType: "pool",
        pool: "race-batch",
        count: 10,
      })),
    );

  // Each replica places overlapping batches from three connections at once.
  const batches = [ids.slice(0, 20), ids.slice(10, 30), ids.slice(20, 40), ids];
  await Promise.all([
    ...batches.map((batch) => placeTasks(stack.database.db, batch)),
    ...batches.map((batch) => placeTasks(otherReplica.db, [...batch].reverse())),
  ]);

  const { items } = await listTasks(stack.database.db, { family: "batched", limit: 500 });
  const placed = items.filter((task) => task.nodeId !== null);
  expect(placed).toHaveLength(12);
  const waiting = items.filter((task) => task.status === "provisioning");
  expect(waiting).toHaveLength(28);
  for (const task of waiting)
    expect(task.pendingReason).toBe(
      "unable to place: no node has 256 cpu units free in pool race-batch",
    );
  for (const agent of nodes) {
    const node = await getNode(stack.database.db, agent.id);
    expect(node.allocated.cpu).toBe(placed.filter((task) => task.nodeId === agent.id).length * 256);
    expect(node.allocated.cpu).toBe(node.capacity.cpu);
  }
});

it("counts the memory function instances hold on a fargate node", async () => {
  const node = await ProtocolAgent.join(stack, "fargate", { cpu: 2048, memory: 1024 });
  const { router } = stack.services.functions;
  const instance = {
    instanceId: "fni_scheduler_test",
    functionId: "fn_scheduler_test",
    revision: 1,
    nodeId: node.id,
    url: "http://127.0.0.1:1",
    memory: 768,
  };
  expect(await router.register(instance, 1024)).toBe(true);
  await stack.admin.request("POST", "/v1/task-definitions", undefined, {
    family: "beside-functions",
    cpu: 256,
    memory: 512,
    compatibilities: ["fargate"],
    containers: [{ name: "main", image: "skiff-test/busybox:latest" }],
  });
  const run = { taskDefinition: "beside-functions", launchType: "fargate" as const };

  const [waiting] = await stack.admin.runTask(run);
  expect(waiting?.status).toBe("provisioning");
  expect(waiting?.nodeId).toBeNull();

  await router.forget(instance.instanceId);
  const [placed] = await stack.admin.runTask(run);
  expect(placed?.nodeId).toBe(node.id);
});
