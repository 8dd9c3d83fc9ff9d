import { newId, type StopCode, type TaskStatus } from "@skiff/shared";
import { afterAll, beforeAll, expect, it } from "vitest";
import { serviceEvents, tasks } from "../../db/schema/index.js";
import { createTestStack, type TestStack } from "../../test/harness.js";

// The service view is read in SQL (counts by status, failures per deployment, newest events)
// rather than from every task a service ever had: its figures must still be exact.
let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack();
  await stack.admin.createPool("view");
  await stack.admin.registerTaskDefinition({
    family: "view",
    cpu: 256,
    memory: 256,
    containers: [{ name: "main", image: "skiff-test/busybox:latest" }],
  });
});
afterAll(() => stack.close());

const task = (
  service: string,
  status: TaskStatus,
  fields: { stopCode?: StopCode; createdAt?: Date; revision?: number } = {},
) => ({
  id: newId("task"),
  family: "view",
  revision: fields.revision ?? 1,
  status,
  desiredStatus: (status === "stopped" || status === "stopping" ? "stopped" : "running") as
    | "stopped"
    | "running",
  launchType: "pool" as const,
  pool: "view",
  service,
  cpu: 256,
  memory: 256,
  hostPorts: [],
  placement: { strategy: "spread" as const, constraints: [] },
  containers: [],
  createdAt: fields.createdAt ?? new Date(),
  stopCode: fields.stopCode ?? null,
  stoppedAt: status === "stopped" ? new Date() : null,
});

it("counts running, pending and failed tasks and shows the newest events of each service", async () => {
  for (const name of ["view-a", "view-b"])
    await stack.admin.createService({
      name,
      taskDefinition: "view:1",
      desiredCount: 0,
      launchType: "pool",
      pool: "view",
    });
  const { db } = stack.services;
  const longAgo = new Date(Date.now() - 86_400_000);
  const failure = "EssentialContainerExited" as const;
  await db.insert(tasks).values([
    task("view-a", "running"),
    task("view-a", "running"),
    task("view-a", "pending"),
    task("view-a", "provisioning"),
    task("view-a", "stopping", { stopCode: failure }),
    task("view-a", "stopped", { stopCode: failure }),
    task("view-a", "stopped", { stopCode: "TaskFailedToStart" }),
    // Before the deployment began: not its failure.
    task("view-a", "stopped", { stopCode: failure, createdAt: longAgo }),
    ...Array.from({ length: 30 }, () => task("view-a", "stopped", { stopCode: "UserInitiated" })),
    task("view-b", "running"),
  ]);
  const events = Array.from({ length: 25 }, (_, i) => ({
    id: newId("evt"),
    service: "view-a",
    message: `event ${i}`,
  }));
  await db.insert(serviceEvents).values(events);
  const newest = events
    .map((event) => event.id)
    .sort()
    .reverse()
    .slice(0, 20);

  const services = await stack.admin.listServices();
  const a = services.find((service) => service.name === "view-a");
  const b = services.find((service) => service.name === "view-b");
  expect(a).toMatchObject({ runningCount: 2, pendingCount: 2 });
  expect(a?.deployments).toEqual([
    expect.objectContaining({ runningCount: 2, pendingCount: 2, failedTasks: 3 }),
  ]);
  expect(a?.events.map((event) => event.id)).toEqual(newest);
  expect(b).toMatchObject({ runningCount: 1, pendingCount: 0 });
  expect(b?.events.every((event) => !event.message.startsWith("event "))).toBe(true);
  expect(await stack.admin.getService("view-a")).toEqual(a);
});
