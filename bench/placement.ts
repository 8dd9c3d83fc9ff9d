import { taskSchema } from "@skiff/shared";
import postgres from "postgres";
import { z } from "zod";
import { FakeNodeFleet } from "./fake-nodes.js";
import { forEachLimited, poll, seconds, startBenchApi } from "./support.js";

// Placement throughput (issue 3): 1,000 nodes faked at the HTTP level, then 10,000 tasks run
// through `POST /v1/tasks` (10 per request, the most one request takes) against the built api
// and a fresh PostgreSQL database. A decision is one task given a node. Bar: above 3,750/s.
const nodeCount = Number(process.env.BENCH_NODES ?? 1000);
const taskCount = Number(process.env.BENCH_TASKS ?? 10_000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const perRequest = 10;
const pool = "bench";
const tasksResponse = z.object({ tasks: z.array(taskSchema) });

if (nodeCount * 16 < taskCount)
  throw new Error(`${nodeCount} nodes have room for ${nodeCount * 16} tasks`);

const api = await startBenchApi({ LOG_LEVEL: "error", ...profileEnv() });
const fleet = new FakeNodeFleet(api.process.baseUrl, api.admin);
try {
  await api.admin.createPool(pool);
  const registerStarted = Date.now();
  // 16 slots of 256 cpu units per node: room for 16,000 tasks, so every one of them fits.
  await fleet.register(pool, nodeCount, { cpu: 4096, memory: 16_384 }, (index) => ({
    zone: `zone-${index % 4}`,
  }));
  const registerMs = Date.now() - registerStarted;
  await api.admin.registerTaskDefinition({
    family: "bench",
    cpu: 256,
    memory: 512,
    containers: [{ name: "main", image: "skiff-test/busybox:latest" }],
  });

  const requests = Array.from({ length: Math.ceil(taskCount / perRequest) }, (_, index) =>
    Math.min(perRequest, taskCount - index * perRequest),
  );
  const started = Date.now();
  await forEachLimited(requests, concurrency, async (count) => {
    await api.admin.request("POST", "/v1/tasks", tasksResponse, {
      taskDefinition: "bench",
      pool,
      count,
    });
  });
  // A task a request could not take (another pass held its row) is placed by the placement loop.
  const placed = await poll("every task to be placed", 600_000, async () => {
    const counts = await countTasks(api.database.url);
    return counts.unplaced === 0 ? counts : undefined;
  });
  const elapsedMs = Date.now() - started;
  fleet.stop();

  const rate = Math.round((placed.placed / elapsedMs) * 1000);
  console.log(
    `placement: ${placed.placed} tasks on ${nodeCount} nodes in ${seconds(elapsedMs)}: ` +
      `${rate} decisions/s (bar > 3750/s; ${concurrency} requests in flight; ` +
      `over-committed nodes: ${placed.overCommitted}; registering took ${seconds(registerMs)}; ` +
      `heartbeats ${fleet.heartbeats} ok, ${fleet.failedHeartbeats} failed)`,
  );
  if (placed.overCommitted > 0 || placed.placed !== taskCount) process.exitCode = 1;
} finally {
  fleet.stop();
  await api.stop();
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

/** BENCH_CPU_PROF=dir writes a V8 cpu profile of the api process there (for chrome devtools). */
function profileEnv(): Record<string, string> {
  const dir = process.env.BENCH_CPU_PROF;
  return dir ? { NODE_OPTIONS: `--import ${dir}` } : {};
}
