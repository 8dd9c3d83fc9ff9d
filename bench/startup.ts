import { randomBytes } from "node:crypto";
import { serviceSchema } from "@skiff/shared";
import {
  docker,
  ensureTestImage,
  httpdCommand,
  httpdTaskDefinition,
  image,
  removeLabelled,
} from "./docker.js";
import { forEachLimited, poll, seconds, startBenchApi } from "./support.js";

// Real start-up (issue 3): the all-in-one api with its local agent on this host's Docker engine
// scales a service from 0 to 20 busybox httpd tasks (a published container port each); the time
// until all 20 are `running` is set against 20 `docker run -d -p 8080` of the same image and
// command in the same run, one after the other as a shell loop would, each side in turn, and the
// medians of the rounds are compared. Bar: ratio at most 1.5; aim 1.2.
const taskCount = 20;
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const runId = randomBytes(4).toString("hex");
const service = `startup-${runId}`;
const plainLabel = `skiff-bench=${runId}`;

await ensureTestImage();
// The agent's heartbeat waits for a `docker ps`; while this busy 2-core host's engine created 20
// containers that took more than 15 s, and the node was marked down mid-start (its tasks stopped
// as NodeLost). A minute's window keeps this a start-up benchmark (BENCH_NODE_DOWN_AFTER_MS).
const api = await startBenchApi({
  SKIFF_LOCAL_AGENT: "true",
  SKIFF_NODE_DOWN_AFTER_MS: process.env.BENCH_NODE_DOWN_AFTER_MS ?? "60000",
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "error",
});
try {
  await poll("the local agent's node", 30_000, async () => {
    const nodes = await api.admin.listNodes({ pool: "default" });
    return nodes.some((node) => node.state === "active") ? true : undefined;
  });
  await api.admin.registerTaskDefinition(httpdTaskDefinition(service, 32));
  await api.admin.request("POST", "/v1/services", serviceSchema, {
    name: service,
    taskDefinition: service,
    desiredCount: 0,
  });

  const skiffMs: number[] = [];
  const plainMs: number[] = [];
  const parallelMs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    plainMs.push(await timePlainRuns(1));
    skiffMs.push(await timeSkiffScaleUp());
    parallelMs.push(await timePlainRuns(taskCount));
  }
  const skiff = median(skiffMs);
  const plain = median(plainMs);
  const parallel = median(parallelMs);
  console.log(
    `startup: 0 -> ${taskCount} running through skiff ${seconds(skiff)}; ${taskCount} docker run -d ` +
      `one after another ${seconds(plain)} (ratio ${(skiff / plain).toFixed(2)}), all at once ` +
      `${seconds(parallel)} (ratio ${(skiff / parallel).toFixed(2)}) (bar <= 1.5, aim 1.2; medians ` +
      `of ${rounds} rounds: skiff ${list(skiffMs)}, docker run one after another ${list(plainMs)}, ` +
      `at once ${list(parallelMs)})`,
  );
} finally {
  await api.stop();
  await removeLabelled(undefined, `skiff.service=${service}`);
  await removeLabelled(undefined, plainLabel);
}

/** Scales the service 0 -> 20, waits for 20 `running`, then back to 0 and no container left. */
async function timeSkiffScaleUp(): Promise<number> {
  const started = Date.now();
  await scaleTo(taskCount);
  await poll("20 running tasks", 120_000, async () => {
    const { items } = await api.admin.listTasks({ service, status: "running", limit: 100 });
    return items.length === taskCount ? true : undefined;
  }).catch(async (error) => {
    const { items } = await api.admin.listTasks({ service, limit: 100 });
    const states = items.map(
      (task) => `${task.status} ${task.pendingReason ?? task.stoppedReason}`,
    );
    throw new Error(`${error.message}: ${JSON.stringify(states)}\n${api.process.output()}`);
  });
  const elapsed = Date.now() - started;
  await scaleTo(0);
  await poll("the service's containers to go", 120_000, async () => {
    const ids = await docker(undefined, "ps", "-aq", "--filter", `label=skiff.service=${service}`);
    const { items } = await api.admin.listTasks({ service, limit: 100 });
    const live = items.filter((task) => task.status !== "stopped");
    return ids.trim() === "" && live.length === 0 ? true : undefined;
  });
  return elapsed;
}

async function scaleTo(desiredCount: number): Promise<void> {
  await api.admin.request("PATCH", `/v1/services/${service}`, serviceSchema, { desiredCount });
}

/** 20 `docker run -d` with `concurrency` at once; removes the containers after. */
async function timePlainRuns(concurrency: number): Promise<number> {
  const started = Date.now();
  await forEachLimited(Array.from({ length: taskCount }), concurrency, async () => {
    await docker(
      undefined,
      "run",
      "-d",
      "--label",
      plainLabel,
      "-p",
      "8080",
      image,
      ...httpdCommand,
    );
  });
  const elapsed = Date.now() - started;
  await removeLabelled(undefined, plainLabel);
  return elapsed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function list(values: number[]): string {
  return values.map((ms) => (ms / 1000).toFixed(1)).join("/");
}
