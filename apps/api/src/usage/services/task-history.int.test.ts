import { newId } from "@skiff/shared";
import { afterAll, beforeAll, expect, it } from "vitest";
import { removeStoppedTasksBefore } from "../../compute/services/task-retention.js";
import { tasks } from "../../db/schema/index.js";
import { createControlLoops } from "../../jobs/control-loops.js";
import { createTestStack, type TestStack } from "../../test/harness.js";

// Stopped tasks are removed after the retention window, and metering does not notice: usage over
// any window and the Prometheus counters answer the same before and after.
let stack: TestStack;
const now = new Date("2026-06-20T12:00:00Z");
const ago = (ms: number) => new Date(now.getTime() - ms);
const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;

const ids = {
  short: newId("task"),
  spanning: newId("task"),
  standalone: newId("task"),
  neverStarted: newId("task"),
  recent: newId("task"),
  running: newId("task"),
};

beforeAll(async () => {
  stack = await createTestStack();
  stack.services.clock = { now: () => now };
  const task = (
    id: string,
    fields: {
      service?: string;
      family?: string;
      launchType?: "pool" | "fargate";
      cpu: number;
      memory: number;
      startedAt?: Date;
      stoppedAt?: Date;
    },
  ) => ({
    id,
    family: fields.family ?? "web",
    revision: 1,
    status: fields.stoppedAt ? ("stopped" as const) : ("running" as const),
    desiredStatus: fields.stoppedAt ? ("stopped" as const) : ("running" as const),
    launchType: fields.launchType ?? ("fargate" as const),
    pool: fields.launchType === "pool" ? "default" : "fargate",
    service: fields.service ?? null,
    cpu: fields.cpu,
    memory: fields.memory,
    hostPorts: [],
    placement: { strategy: "spread" as const, constraints: [] },
    containers: [],
    createdAt: fields.startedAt ?? fields.stoppedAt ?? now,
    startedAt: fields.startedAt ?? null,
    stoppedAt: fields.stoppedAt ?? null,
    stopCode: fields.stoppedAt ? ("UserInitiated" as const) : null,
  });
  await stack.services.db.insert(tasks).values([
    // A 30 s run, metered as the one-minute minimum.
    task(ids.short, {
      service: "web",
      cpu: 1024,
      memory: 2048,
      startedAt: ago(3 * day),
      stoppedAt: ago(3 * day - 30_000),
    }),
    // Across a month boundary and every window below.
    task(ids.spanning, {
      service: "web",
      cpu: 512,
      memory: 1024,
      startedAt: ago(40 * day),
      stoppedAt: ago(2 * day),
    }),
    task(ids.standalone, {
      family: "batch",
      launchType: "pool",
      cpu: 256,
      memory: 512,
      startedAt: ago(5 * hour),
      stoppedAt: ago(4 * hour),
    }),
    task(ids.neverStarted, { service: "web", cpu: 256, memory: 512, stoppedAt: ago(2 * day) }),
    // Within the retention window: kept.
    task(ids.recent, {
      service: "web",
      cpu: 256,
      memory: 512,
      startedAt: ago(30 * minute),
      stoppedAt: ago(10 * minute),
    }),
    task(ids.running, { service: "web", cpu: 2048, memory: 4096, startedAt: ago(2 * hour) }),
  ]);
});
afterAll(() => stack.close());

async function meterings() {
  const windows = [
    {},
    { groupBy: "task" as const },
    { from: ago(7 * day).toISOString(), to: ago(day).toISOString() },
    { from: ago(7 * day).toISOString(), to: ago(day).toISOString(), groupBy: "task" as const },
    { from: ago(60 * day).toISOString(), to: ago(hour).toISOString() },
    { from: ago(3 * day - 10_000).toISOString(), to: ago(3 * day - 20_000).toISOString() },
  ];
  const usage = [];
  for (const query of windows) usage.push(await stack.admin.usage(query));
  const response = await stack.request("/v1/metrics", {
    headers: { authorization: `Bearer ${stack.adminToken}` },
  });
  return { usage, metrics: await response.text() };
}

const status = async (id: string) =>
  (
    await stack.request(`/v1/tasks/${id}`, {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    })
  ).status;

it("removes stopped tasks past the retention window and meters exactly as before", async () => {
  const before = await meterings();
  expect(before.usage[1]?.items.length).toBeGreaterThanOrEqual(4);
  expect(before.metrics).toMatch(/skiff_task_vcpu_seconds_total\{service="web"/);

  const removed = await removeStoppedTasksBefore(stack.services.db, ago(hour), { batchSize: 2 });
  expect(removed).toBe(4);
  for (const id of [ids.short, ids.spanning, ids.standalone, ids.neverStarted])
    expect(await status(id)).toBe(404);
  for (const id of [ids.recent, ids.running]) expect(await status(id)).toBe(200);

  const after = await meterings();
  expect(after).toEqual(before);
});

it("runs as a leader loop that keeps stopped tasks for the retention window", async () => {
  const kept = newId("task");
  const old = newId("task");
  const row = (id: string, stoppedAt: Date) => ({
    id,
    family: "web",
    revision: 1,
    status: "stopped" as const,
    desiredStatus: "stopped" as const,
    launchType: "fargate" as const,
    pool: "fargate",
    service: "web",
    cpu: 256,
    memory: 512,
    hostPorts: [],
    placement: { strategy: "spread" as const, constraints: [] },
    containers: [],
    startedAt: new Date(stoppedAt.getTime() - minute),
    stoppedAt,
  });
  await stack.services.db.insert(tasks).values([row(kept, ago(20 * minute)), row(old, ago(day))]);
  const loops = createControlLoops(stack.services, {
    nodeDownAfterMs: 60_000,
    intervalMs: 50,
    stoppedTaskRetentionMs: 30 * minute,
  });
  const retention = loops.at(-1);
  retention?.start();
  try {
    for (let i = 0; i < 100 && (await status(old)) !== 404; i++)
      await new Promise((done) => setTimeout(done, 50));
  } finally {
    await retention?.stop();
  }
  expect(await status(old)).toBe(404);
  expect(await status(kept)).toBe(200);
});
