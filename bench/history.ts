import postgres from "postgres";
import { forEachLimited, poll, seconds, startBenchApi } from "./support.js";

// Task history (review item 3): 100 services that have churned 100,000 tasks, one replaced every
// 25 s over the last 29 days, inserted directly in SQL beside 2 running tasks per service. Times
// `GET /v1/services` (one page of all 100) and a `/v1/metrics` scrape, twice: with the whole
// history still in `tasks` (as before the retention loop's first pass), and after the loop kept
// only the last hour (SKIFF_STOPPED_TASK_RETENTION_SECONDS). Bar: each under 50 ms.
const serviceCount = Number(process.env.BENCH_SERVICES ?? 100);
const taskCount = Number(process.env.BENCH_TASKS ?? 100_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 30);

const api = await startBenchApi({ LOG_LEVEL: "error" });
const sql = postgres(api.database.url, { max: 2, onnotice: () => {} });
try {
  await api.admin.registerTaskDefinition({
    family: "hist",
    cpu: 256,
    memory: 512,
    containers: [{ name: "main", image: "skiff-test/busybox:latest" }],
  });
  const names = Array.from({ length: serviceCount }, (_, i) => `hist-${i}`);
  // Two running tasks each, inserted below: the scheduler finds them and has nothing to do.
  await forEachLimited(names, 8, async (name) => {
    await api.admin.createService({
      name,
      taskDefinition: "hist:1",
      desiredCount: 2,
      launchType: "pool",
      pool: "default",
    });
  });
  const inserted = Date.now();
  await sql.unsafe(`
    insert into tasks (id, family, revision, status, desired_status, launch_type, pool, service,
      cpu, memory, host_ports, placement, containers, stop_code, created_at, started_at, stopped_at)
    select 'task_hist' || lpad(g::text, 9, '0'), 'hist', 1, 'stopped', 'stopped', 'pool',
      'default', 'hist-' || (g % ${serviceCount}), 256, 512, '{}',
      '{"strategy":"spread","constraints":[]}', '[]',
      case when g % 10 = 0 then 'EssentialContainerExited' else 'ServiceSchedulerInitiated' end,
      t - interval '10 minutes', t - interval '10 minutes', t
    from generate_series(1, ${taskCount}) g,
      lateral (select now() - g * interval '25 seconds' as t) at
  `);
  await sql.unsafe(`
    insert into tasks (id, family, revision, status, desired_status, launch_type, pool, service,
      cpu, memory, host_ports, placement, containers, created_at, started_at)
    select 'task_live' || lpad(g::text, 9, '0'), 'hist', 1, 'running', 'running', 'pool',
      'default', 'hist-' || (g % ${serviceCount}), 256, 512, '{}',
      '{"strategy":"spread","constraints":[]}', '[]', now(), now() - interval '1 hour'
    from generate_series(1, ${serviceCount * 2}) g
  `);
  await sql.unsafe("analyze tasks");
  console.log(`inserted ${taskCount} stopped tasks in ${seconds(Date.now() - inserted)}`);

  const full = await measure();
  const [{ kept: before = 0 } = {}] = await sql<{ kept: number }[]>`
    select count(*)::int as kept from tasks`;
  const removalStarted = Date.now();
  // The retention loop passes once a minute: wait for it rather than call it.
  const after = await poll(
    "the retention loop to remove the old history",
    180_000,
    async () => {
      const [old] = await sql<{ n: number }[]>`
        select count(*)::int as n from tasks
        where status = 'stopped' and stopped_at < now() - interval '1 hour'`;
      if (old?.n !== 0) return undefined;
      const [row] = await sql<{ kept: number }[]>`select count(*)::int as kept from tasks`;
      return row?.kept;
    },
    1_000,
  );
  console.log(
    `retention loop: ${before} tasks -> ${after} within ${seconds(Date.now() - removalStarted)} of waiting`,
  );
  const kept = await measure();
  console.log(
    JSON.stringify({ services: serviceCount, tasks: taskCount, rounds, full, kept }, null, 2),
  );
} finally {
  await sql.end();
  // Autovacuum may still be at the deleted history; a drop that cannot end it is tried again.
  await api.stop().catch(async () => {
    await new Promise((done) => setTimeout(done, 5_000));
    await api.database.drop();
  });
}

/** Median and p95 of `rounds` timed requests to each route, after a warm-up. */
async function measure() {
  const time = async (path: string) => {
    const samples: number[] = [];
    for (let round = 0; round < rounds + 3; round++) {
      const started = performance.now();
      const response = await fetch(`${api.process.baseUrl}${path}`, {
        headers: { authorization: `Bearer ${api.adminToken}` },
      });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`${path} answered ${response.status}`);
      if (round >= 3) samples.push(performance.now() - started);
    }
    samples.sort((a, b) => a - b);
    const at = (q: number) =>
      Number((samples[Math.floor(q * (samples.length - 1))] ?? 0).toFixed(1));
    return { medianMs: at(0.5), p95Ms: at(0.95) };
  };
  return {
    // The floor: an authenticated request that reads nothing, on the same loaded process.
    whoami: await time("/v1/whoami"),
    services: await time(`/v1/services?limit=${serviceCount}`),
    metrics: await time("/v1/metrics"),
  };
}
