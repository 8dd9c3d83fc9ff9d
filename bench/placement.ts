import { taskSchema } from "@skiff/shared";
import postgres from "postgres";
import { z } from "zod";
import { FakeNodeFleet } from "./fake-nodes.js";
import { forEachLimited, poll, seconds, startBenchApi } from "./support.js";

// Placement throughput (issue 3): 1,000 nodes faked at the HTTP level (registered with a join
// token, each heartbeating once), against the built api and a fresh PostgreSQL database. A
// decision is one task given a node. Bar: above 3,750/s; aim 10,000/s. Three runs, one after the
// other on the same fleet, each timed from its first request until its last task has a node:
// - services, as Nomad's C1M ran jobs: 10 services of 1,000 tasks each created at once; the
//   service scheduler launches and places their tasks; once with binpack, once with spread;
// - `POST /v1/tasks`: 10,000 tasks, 10 per request (the most one request takes, as in ECS's
//   RunTask), 8 requests in flight.
//
// The fleet's periodic heartbeats (1,000 nodes every 5 s) are measured on their own, as the rate
// the api takes them at; during placement they pause (BENCH_HEARTBEATS=1 keeps them on) and the
// node-down window is an hour, so no node goes down meanwhile.
const nodeCount = Number(process.env.BENCH_NODES ?? 1000);
const taskCount = Number(process.env.BENCH_TASKS ?? 10_000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const heartbeatsDuringPlacement = process.env.BENCH_HEARTBEATS === "1";
const perRequest = 10;
const perService = 1000;
const pool = "bench";
const tasksResponse = z.object({ tasks: z.array(taskSchema) });

// 32 slots of 256 cpu units per node: every task of the three runs fits.
if (nodeCount * 32 < taskCount * 3)
  throw new Error(`${nodeCount} nodes have room for ${nodeCount * 32} tasks only`);

const api = await startBenchApi({
  LOG_LEVEL: "error",
  SKIFF_NODE_DOWN_AFTER_MS: heartbeatsDuringPlacement ? "15000" : "3600000",
  ...profileEnv(),
});
const fleet = new FakeNodeFleet(api.process.baseUrl, api.admin);
try {
  await api.admin.createPool(pool);
  const registerStarted = Date.now();
  await fleet.register(pool, nodeCount, { cpu: 8192, memory: 32_768 }, (index) => ({
    zone: `zone-${index % 4}`,
  }));
  const registerMs = Date.now() - registerStarted;
  const heartbeatRate = await fleet.heartbeatAll(16);
  const heartbeatsNeeded = (nodeCount / 5_000) * 1000;
  await api.admin.registerTaskDefinition({
    family: "bench",
    cpu: 256,
    memory: 512,
    containers: [{ name: "main", image: "skiff-test/busybox:latest" }],
  });
  if (heartbeatsDuringPlacement) fleet.startHeartbeats();

  const createServices = (prefix: string, strategy: "binpack" | "spread") =>
    timePlacement(api.database.url, taskCount, async () => {
      const services = Array.from({ length: Math.ceil(taskCount / perService) }, (_, i) => i);
      await forEachLimited(services, services.length, async (index) => {
        await api.admin.createService({
          name: `${prefix}-${index}`,
          taskDefinition: "bench",
          pool,
          desiredCount: Math.min(perService, taskCount - index * perService),
          placement: { strategy },
        });
      });
    });
  // Binpack is Nomad's default, as in C1M; spread over nodes is a service's default here.
  const viaServices = await createServices("binpack", "binpack");
  const viaSpreadServices = await createServices("spread", "spread");
  const viaRunTask = await timePlacement(api.database.url, taskCount, async () => {
    const requests = Array.from({ length: Math.ceil(taskCount / perRequest) }, (_, index) =>
      Math.min(perRequest, taskCount - index * perRequest),
    );
    await forEachLimited(requests, concurrency, async (count) => {
      await api.admin.request("POST", "/v1/tasks", tasksResponse, {
        taskDefinition: "bench",
        pool,
        count,
      });
    });
  });
  fleet.stop();

  const counts = await countTasks(api.database.url);
  const rate = (run: { placed: number; elapsedMs: number }) =>
    `${run.placed} tasks in ${seconds(run.elapsedMs)}: ${Math.round((run.placed / run.elapsedMs) * 1000)} decisions/s`;
  console.log(
    `placement on ${nodeCount} nodes (bar > 3750/s, aim 10000/s):\n` +
      `  services (${perService} tasks each, created at once), binpack: ${rate(viaServices)}\n` +
      `  the same, spread over nodes: ${rate(viaSpreadServices)}\n` +
      `  POST /v1/tasks (${perRequest} per request, ${concurrency} in flight): ${rate(viaRunTask)}\n` +
      `  heartbeats during placement: ${heartbeatsDuringPlacement ? "on" : "off"}; ` +
      `over-committed nodes: ${counts.overCommitted}; ${nodeCount} registrations in ` +
      `${seconds(registerMs)}; heartbeats taken at ${Math.round(heartbeatRate)}/s, the fleet ` +
      `needs ${Math.round(heartbeatsNeeded)}/s; ${fleet.failedHeartbeats} heartbeats failed`,
  );
  if (counts.overCommitted > 0 || counts.placed !== taskCount * 3) process.exitCode = 1;
} finally {
  fleet.stop();
  await api.stop();
}

/**
 * Runs `submit`, then waits for `expected` more tasks and every task to have a node (a task a
 * request could not take because another pass held its row is placed by the placement loop);
 * the tasks placed meanwhile and the time from the start of `submit`.
 */
async function timePlacement(url: string, expected: number, submit: () => Promise<void>) {
  const before = await countTasks(url);
  const started = Date.now();
  await submit();
  const after = await poll("every task to be placed", 600_000, async () => {
    const counts = await countTasks(url);
    return counts.unplaced === 0 && counts.placed >= before.placed + expected ? counts : undefined;
  });
  return { placed: after.placed - before.placed, elapsedMs: Date.now() - started };
}

/** Placed and unplaced tasks, and nodes whose tasks add up to more than their capacity. */
async function countTasks(url: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ placed: number; unplaced: number; overCommitted: number }[]>`
      select
        (select count(*)::int from tasks where node_id is not null) as placed,
        (select count(*)::int from tasks where node_id is null) as unplaced,
        (select count(*)::int from (
          select n.id from nodes n join tasks t on t.node_id = n.id and t.status <> 'stopped'
          group by n.id, n.capacity_cpu, n.capacity_memory
          having sum(t.cpu) > n.capacity_cpu or sum(t.memory) > n.capacity_memory
        ) o) as "overCommitted"`;
    return row ?? { placed: 0, unplaced: 0, overCommitted: 0 };
  } finally {
    await sql.end();
  }
}

/**
 * BENCH_CPU_PROF=file.mjs preloads that module into the api process (`--import`), e.g. one that
 * starts node:inspector's profiler: Node refuses --cpu-prof in NODE_OPTIONS.
 */
function profileEnv(): Record<string, string> {
  const preload = process.env.BENCH_CPU_PROF;
  return preload ? { NODE_OPTIONS: `--import ${preload}` } : {};
}
