import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { zipSync } from "fflate";
import { startAgentProcess } from "../apps/api/src/test/agent-process.js";
import { removeLabelled } from "./docker.js";
import { poll, sleep, startBenchApi } from "./support.js";

// The functions benchmarks of issue 16, each side by side with its peer in one run:
// - cold start: an invoke with no instance, to its response, against `docker run --rm` of the
//   same runtime image running the same handler once (bar: ratio <= 1.5; aim <= 1.0);
// - warm overhead: sequential invokes of a handler that returns at once, against direct HTTP to
//   an equivalent node HTTP server in a container of the same image (bar: p50 overhead <= 5 ms);
// - throughput: 32 concurrent callers, reserved concurrency 8 (bar: >= 500/s, 0 errors);
// - async: 10,000 Event invocations drained, with an api restart in the middle (0 lost).
const runtimeImage = "skiff/lambda:nodejs24.x";
const coldRounds = Number(process.env.BENCH_COLD_ROUNDS ?? 5);
const warmInvokes = Number(process.env.BENCH_WARM_INVOKES ?? 10_000);
const throughputSeconds = Number(process.env.BENCH_THROUGHPUT_SECONDS ?? 10);
const asyncEvents = Number(process.env.BENCH_ASYNC_EVENTS ?? 10_000);
const runId = randomBytes(4).toString("hex");
const label = `skiff-bench=${runId}`;
const run = promisify(execFile);

const handler = "exports.handler = async (event) => ({ ok: true, echo: event.n ?? null });\n";
const zipBase64 = Buffer.from(zipSync({ "index.js": Buffer.from(handler) })).toString("base64");

// /proc counts CPU time in clock ticks: 100 a second on Linux (getconf CLK_TCK).
const clockTicksPerSecond = 100;

const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request over the keep-alive agent. */
function call(url: string, method: string, body?: string, headers: Record<string, string> = {}) {
  return new Promise<Answer>((resolve, reject) => {
    const req = request(url, { method, agent: keepAlive, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}
const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
const ms = (value: number) => `${value.toFixed(2)} ms`;

// As compose runs them: the api, and the fargate node's agent as its own process on this
// engine (the all-in-one runs both on one thread; on 2 cores two processes do more).
const api = await startBenchApi({
  SKIFF_NODE_DOWN_AFTER_MS: "60000",
  SKIFF_FUNCTION_RETRY_DELAY_SECONDS: "1",
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "error",
});
/** The api's address: a restart moves it to another port. */
const baseOf = () => api.process.baseUrl;
const auth = { authorization: `Bearer ${api.adminToken}`, "content-type": "application/json" };
const invokeUrl = (name: string) => `${baseOf()}/2015-03-31/functions/${name}/invocations`;

async function createFunction(name: string, extra: Record<string, unknown> = {}) {
  const answer = await call(
    `${baseOf()}/v1/functions`,
    "POST",
    JSON.stringify({
      name,
      runtime: "nodejs24.x",
      handler: "index.handler",
      memory: 128,
      code: { zipBase64 },
      ...extra,
    }),
    auth,
  );
  if (answer.status !== 201) throw new Error(`create ${name}: ${answer.status} ${answer.body}`);
}

async function invoke(name: string, payload = "{}", headers: Record<string, string> = {}) {
  return call(invokeUrl(name), "POST", payload, { ...auth, ...headers });
}

const agentDir = mkdtempSync(join(tmpdir(), "skiff-bench-agent-"));
const { token: joinToken } = await api.admin.createJoinToken("fargate");
const agent = startAgentProcess({
  workDir: agentDir,
  name: `bench-fargate-${runId}`,
  apiUrl: api.process.baseUrl,
  joinToken,
  dockerHost: "unix:///var/run/docker.sock",
  env: { SKIFF_AGENT_PORT: "0", SKIFF_RUNTIME_API_PORT: "0" },
});
const codeDir = mkdtempSync(join(tmpdir(), "skiff-bench-fn-"));
writeFileSync(join(codeDir, "index.js"), handler, { mode: 0o644 });
// The runtime images run as an unprivileged user (uid 993), as Lambda does.
chmodSync(codeDir, 0o755);
try {
  await poll("the local fargate node", 30_000, async () => {
    const nodes = await api.admin.listNodes({ pool: "fargate" });
    return nodes.some((node) => node.state === "active") ? true : undefined;
  });

  // Cold start: each round a new function (no instance), then docker run --rm of the same.
  const skiffCold: number[] = [];
  const dockerCold: number[] = [];
  const once =
    "require('/var/task/index.js').handler({}).then((r) => console.log(JSON.stringify(r)))";
  for (let round = 0; round < coldRounds; round++) {
    const name = `cold-${runId}-${round}`;
    // 1,769 MB is one vCPU (Lambda's proportion): the cpu weight docker run's container has too.
    await createFunction(name, { memory: 1769 });
    let started = performance.now();
    const answer = await invoke(name);
    skiffCold.push(performance.now() - started);
    if (answer.status !== 200) throw new Error(`cold invoke: ${answer.status} ${answer.body}`);
    started = performance.now();
    await run("docker", [
      "run",
      "--rm",
      "--label",
      label,
      "-v",
      `${codeDir}:/var/task:ro`,
      "--entrypoint",
      "node",
      runtimeImage,
      "-e",
      once,
    ]);
    dockerCold.push(performance.now() - started);
  }
  const coldRatio = median(skiffCold) / median(dockerCold);
  console.log(
    `cold start: skiff median ${ms(median(skiffCold))}, docker run --rm ${ms(median(dockerCold))}: ratio ${coldRatio.toFixed(2)} (bar 1.5, aim 1.0)`,
  );

  // Warm overhead: sequential invokes of one warm instance, then direct HTTP to a container.
  const warm = `warm-${runId}`;
  await createFunction(warm);
  await invoke(warm);
  const skiffWarm: number[] = [];
  for (let i = 0; i < warmInvokes; i++) {
    const started = performance.now();
    const answer = await invoke(warm, `{"n":${i}}`);
    skiffWarm.push(performance.now() - started);
    if (answer.status !== 200) throw new Error(`warm invoke: ${answer.status} ${answer.body}`);
  }
  const server =
    "const h=require('/var/task/index.js').handler;require('http').createServer((q,s)=>{let b='';q.on('data',c=>b+=c);q.on('end',async()=>{const r=await h(JSON.parse(b||'{}'));s.end(JSON.stringify(r))})}).listen(8080)";
  const containerId = (
    await run("docker", [
      "run",
      "-d",
      "--label",
      label,
      "-v",
      `${codeDir}:/var/task:ro`,
      "-p",
      "127.0.0.1::8080",
      "--entrypoint",
      "node",
      runtimeImage,
      "-e",
      server,
    ])
  ).stdout.trim();
  const port = (await run("docker", ["port", containerId, "8080"])).stdout.trim().split(":").pop();
  const direct = `http://127.0.0.1:${port}/`;
  await poll("the direct server", 10_000, () =>
    call(direct, "POST", "{}").then(
      () => true,
      () => undefined,
    ),
  );
  const directWarm: number[] = [];
  for (let i = 0; i < warmInvokes; i++) {
    const started = performance.now();
    await call(direct, "POST", `{"n":${i}}`);
    directWarm.push(performance.now() - started);
  }
  skiffWarm.sort((a, b) => a - b);
  directWarm.sort((a, b) => a - b);
  const overhead = percentile(skiffWarm, 50) - percentile(directWarm, 50);
  console.log(
    `warm: skiff p50 ${ms(percentile(skiffWarm, 50))} p99 ${ms(percentile(skiffWarm, 99))}; direct p50 ${ms(percentile(directWarm, 50))} p99 ${ms(percentile(directWarm, 99))}: p50 overhead ${ms(overhead)} (bar 5, aim 2)`,
  );

  // Throughput: 32 callers for a while against reserved concurrency 8.
  const busy = `busy-${runId}`;
  await createFunction(busy, { reservedConcurrency: 8 });
  await Promise.all(Array.from({ length: 8 }, () => invoke(busy)));
  let done = 0;
  let errors = 0;
  const statuses = new Map<number, number>();
  const cpuBefore = { api: cpuMs(api.process.child.pid), agent: cpuMs(agent.child.pid) };
  const until = performance.now() + throughputSeconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (performance.now() < until) {
        const answer = await invoke(busy).catch(() => ({ status: 0 }) as Answer);
        if (answer.status === 200) done++;
        else {
          errors++;
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        }
      }
    }),
  );
  const rate = done / ((performance.now() - started) / 1000);
  const perInvocation = (ms: number) => `${((ms * 1000) / Math.max(done, 1)).toFixed(0)} us`;
  const apiCpu = cpuMs(api.process.child.pid) - cpuBefore.api;
  const agentCpu = cpuMs(agent.child.pid) - cpuBefore.agent;
  console.log(
    `throughput: ${rate.toFixed(0)} invocations/s, ${errors} errors ${JSON.stringify([...statuses])} (bar 500/s with 0 errors, aim 2000/s); cpu per invocation: api ${perInvocation(apiCpu)}, agent ${perInvocation(agentCpu)}`,
  );

  if (asyncEvents > 0) await measureAsync();
} finally {
  await removeLabelled(undefined, label).catch(() => {});
  rmSync(codeDir, { recursive: true, force: true });
  // The agent stops its instances as it stops.
  await agent.stop("SIGTERM");
  rmSync(agentDir, { recursive: true, force: true });
  await api.stop();
  keepAlive.destroy();
}

/** Async: events enqueued, the api killed and restarted in the middle, every one drained. */
async function measureAsync() {
  const events = `events-${runId}`;
  await createFunction(events, { reservedConcurrency: 8 });
  const asyncStarted = performance.now();
  const requestIds = new Set<string>();
  let sent = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (sent < asyncEvents) {
        sent++;
        const answer = await invoke(events, "{}", { "x-amz-invocation-type": "Event" });
        if (answer.status !== 202) throw new Error(`event: ${answer.status} ${answer.body}`);
        requestIds.add(String(answer.headers["x-amzn-requestid"]));
      }
    }),
  );
  const enqueuedMs = performance.now() - asyncStarted;
  // Killed, not stopped: whatever it held in flight must come back from Redis.
  await api.restart("SIGKILL");
  const succeeded = await poll(
    "every event drained",
    600_000,
    async () => {
      const counts = await countInvocations(events);
      return counts.succeeded + counts.failed >= requestIds.size ? counts : undefined;
    },
    1000,
  );
  const drainMs = performance.now() - asyncStarted;
  console.log(
    `async: ${requestIds.size} events enqueued in ${ms(enqueuedMs)}, drained in ${(drainMs / 1000).toFixed(1)} s across an api restart; succeeded ${succeeded.succeeded}, failed ${succeeded.failed}, lost ${requestIds.size - succeeded.succeeded - succeeded.failed}`,
  );
}

/** CPU time (user and system) a process has used so far, from /proc, in ms. */
function cpuMs(pid: number | undefined): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSecond;
}

/** Event invocations of a function by final status, read through the paged list route. */
async function countInvocations(name: string) {
  const counts = { succeeded: 0, failed: 0 };
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const answer = await call(
      `${baseOf()}/v1/functions/${name}/invocations?limit=500${query}`,
      "GET",
      undefined,
      auth,
    );
    const page = JSON.parse(answer.body) as {
      items: { status: string }[];
      nextCursor: string | null;
    };
    for (const item of page.items) {
      if (item.status === "succeeded") counts.succeeded++;
      if (item.status === "failed") counts.failed++;
    }
    cursor = page.nextCursor;
  } while (cursor);
  await sleep(0);
  return counts;
}
