import { afterAll, beforeAll, expect, it } from "vitest";
import { type OpenDatabase, openDatabase } from "../db/client.js";
import { ProtocolAgent } from "../test/fake-agent.js";
import { createTestStack, type TestStack } from "../test/harness.js";
import { getNode } from "./nodes.js";
import { placeTask } from "./scheduler.js";
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
  const created = [
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
  const ids = created.map((task) => task.id);

  const replicaA = (async () => {
    for (const id of ids) await placeTask(stack.database.db, id);
  })();
  const replicaB = (async () => {
    for (const id of [...ids].reverse()) await placeTask(otherReplica.db, id);
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
