import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { serviceSchema } from "@skiff/shared";
import { zipSync } from "fflate";
import { freePort } from "../apps/api/src/test/process.js";
import { poll, redisUrl, sleep, startBenchApi } from "./support.js";

// The gateway benchmark of issue 17: one backend container (a node HTTP server answering a
// short body over keep-alive), measured with the same wrk run several ways, in one run:
// - direct to the container's host port;
// - nginx proxy_pass to it (upstream keepalive 64), worker_processes = the gateway's workers;
// - Skiff's load balancer: gateway-main.js with as many workers, against the database of an
//   all-in-one api whose local agent runs the container as a service's task;
// - an HTTP API route to the same service that requires an API key, under a usage plan whose
//   throttle is too high to refuse anything (the key check and four limits in Redis per request);
// and a function's answer two ways, with fewer connections (BENCH_FUNCTION_CONNECTIONS, 8, the
// function's reserved concurrency):
// - Invoke on the api (POST /2015-03-31/functions/{name}/invocations, a bearer token);
// - an HTTP API route to the function (payload 2.0) through the same gateway.
// BENCH_WORKERS (1,2), BENCH_ROUNDS (3), BENCH_DURATION (10s), BENCH_CONNECTIONS (32).
// Bars: load balancer >= 0.5 of nginx's requests/s, keyed route >= 0.4; aims 0.9 and 0.8;
// p99 added <= 2 ms.
const duration = process.env.BENCH_DURATION ?? "10s";
const connections = process.env.BENCH_CONNECTIONS ?? "32";
const functionConnections = Number(process.env.BENCH_FUNCTION_CONNECTIONS ?? 8);
const workerCounts = (process.env.BENCH_WORKERS ?? "1,2").split(",").map(Number);
// The machine is shared: sides take turns, round after round, and each side's median round is
// reported, so a burst of someone else's load does not land on one side only.
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const runId = randomBytes(4).toString("hex");
const name = `gwbench-${runId}`;
const run = promisify(execFile);
const gatewayScript = fileURLToPath(new URL("../apps/api/dist/gateway-main.js", import.meta.url));
if (!existsSync(gatewayScript)) throw new Error(`${gatewayScript} is missing: run npm run build`);
for (const tool of ["wrk", "nginx"]) {
  await run("sh", ["-c", `command -v ${tool}`]).catch(() => {
    throw new Error(`${tool} is missing: apt-get install -y wrk nginx`);
  });
}

const backend = `require("http").createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/plain", "content-length": 12 });
  res.end("hello world\\n");
}).listen(8080);`;

const handler = `exports.handler = async () => ({ statusCode: 200, body: "hello world\\n" });\n`;

/** One way of reaching the backend, as wrk is told to. */
interface Side {
  label: string;
  url: string;
  headers?: Record<string, string>;
  /** A wrk Lua script (the invoke is a POST). */
  script?: string;
  connections?: number;
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
}

function millis(text: string): number {
  const match = /([\d.]+)(us|ms|s)/.exec(text);
  if (!match) return Number.NaN;
  const value = Number(match[1]);
  return match[2] === "us" ? value / 1000 : match[2] === "s" ? value * 1000 : value;
}

/** `wrk -t1 -c<connections> -d<duration> --latency url`: requests/s and p50/p99 in ms. */
async function wrk(side: Side, seconds = duration): Promise<Figures> {
  const headers = Object.entries(side.headers ?? {}).flatMap(([name, value]) => [
    "-H",
    `${name}: ${value}`,
  ]);
  const script = side.script ? ["-s", side.script] : [];
  const { stdout } = await run("wrk", [
    "-t1",
    `-c${side.connections ?? connections}`,
    `-d${seconds}`,
    "--latency",
    ...headers,
    ...script,
    side.url,
  ]);
  const url = `${side.label} (${side.url})`;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const p50 = millis(/\s50%\s+(\S+)/.exec(stdout)?.[1] ?? "");
  const p99 = millis(/\s99%\s+(\S+)/.exec(stdout)?.[1] ?? "");
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(stdout);
  if (errors) {
    const sample = await run("curl", ["-s", "-i", ...curlArgs(side), side.url]).catch(
      (error: Error) => ({ stdout: error.message }),
    );
    throw new Error(
      `wrk ${url} saw errors: ${errors[0]}; one request now:\n${sample.stdout}\n${stdout}`,
    );
  }
  return { rps, p50, p99 };
}

/** The round of median requests/s. */
function median(runs: Figures[]): Figures {
  return [...runs].sort((a, b) => a.rps - b.rps)[Math.floor(runs.length / 2)] as Figures;
}

/** Warms each side up (JIT, pools), then measures them in turn, `rounds` times. */
async function measureInTurns(sides: Side[]): Promise<Figures[]> {
  for (const side of sides) await wrk(side, "2s");
  const runs: Figures[][] = sides.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, side] of sides.entries()) runs[i]?.push(await wrk(side));
  }
  return runs.map(median);
}

/** curl's arguments for one request of a side: its method, body and headers. */
function curlArgs(side: Side): string[] {
  const headers = Object.entries(side.headers ?? {}).flatMap(([name, value]) => [
    "-H",
    `${name}: ${value}`,
  ]);
  return [...(side.script ? ["-X", "POST", "--data", "{}"] : []), ...headers];
}

/** Polls with curl, which sends the Host header it is given (fetch does not). */
async function waitForOk(side: Side, what: string): Promise<void> {
  await poll(what, 60_000, async () => {
    const answer = await run("curl", ["-sf", "-o", "/dev/null", ...curlArgs(side), side.url])
      .then(() => true)
      .catch(() => undefined);
    return answer;
  });
}

const children: ReturnType<typeof spawn>[] = [];
function start(command: string, args: string[], env: Record<string, string> = {}) {
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(child);
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once("exit", done));
    child.kill("SIGTERM");
    await Promise.race([exited, sleep(5_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
}

function nginxConfig(dir: string, workers: number, port: number, backendPort: number): string {
  return `worker_processes ${workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream backend { server 127.0.0.1:${backendPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`;
}

const api = await startBenchApi({
  SKIFF_LOCAL_AGENT: "true",
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "error",
});
const nginxDir = mkdtempSync(join(tmpdir(), "skiff-bench-nginx-"));

const admin = (method: string, path: string, body?: unknown) => api.call(method, path, body);
const results: string[] = [];
try {
  await api.admin.registerTaskDefinition({
    family: name,
    // One vCPU: all a single-threaded node server can use.
    cpu: 1024,
    memory: 128,
    containers: [
      {
        name: "web",
        image: "node:24-bookworm-slim",
        command: ["node", "-e", backend],
        portMappings: [{ containerPort: 8080 }],
        stopTimeoutSeconds: 1,
      },
    ],
  });
  await api.admin.request("POST", "/v1/services", serviceSchema, {
    name,
    taskDefinition: name,
    desiredCount: 1,
    loadBalancer: { containerName: "web", containerPort: 8080 },
  });
  const backendPort = await poll("the service's task running", 60_000, async () => {
    const page = await api.admin.listTasks({ service: name, status: "running" });
    return page.items[0]?.containers[0]?.hostPorts[0]?.hostPort;
  });
  const direct: Side = { label: "direct", url: `http://127.0.0.1:${backendPort}/` };
  await waitForOk(direct, "the backend container");

  // An HTTP API in front of the same service, keyed, and a route to a function.
  const apiName = `${name}-api`;
  const httpApi = await admin("POST", "/v1/apis", { name: apiName });
  await admin("POST", `/v1/apis/${httpApi.id}/routes`, {
    routeKey: "GET /{proxy+}",
    target: { service: name },
    apiKeyRequired: true,
  });
  const functionName = `${name}-fn`;
  await admin("POST", "/v1/functions", {
    name: functionName,
    runtime: "nodejs24.x",
    handler: "index.handler",
    memory: 128,
    reservedConcurrency: functionConnections,
    code: {
      zipBase64: Buffer.from(zipSync({ "index.js": Buffer.from(handler) })).toString("base64"),
    },
  });
  await admin("POST", `/v1/apis/${httpApi.id}/routes`, {
    routeKey: "GET /fn",
    target: { function: functionName },
  });
  const key = await admin("POST", "/v1/api-keys", { name });
  const plan = await admin("POST", "/v1/usage-plans", {
    name,
    apiIds: [httpApi.id],
    throttle: { rateLimit: 1_000_000, burstLimit: 1_000_000 },
  });
  await admin("POST", `/v1/usage-plans/${plan.id}/keys`, { keyId: key.id });
  const invokeScript = join(nginxDir, "invoke.lua");
  writeFileSync(
    invokeScript,
    'wrk.method = "POST"\nwrk.body = "{}"\nwrk.headers["Content-Type"] = "application/json"\n',
  );
  const invoke: Side = {
    label: "invoke on the api",
    url: `${api.process.baseUrl}/2015-03-31/functions/${functionName}/invocations`,
    headers: { authorization: `Bearer ${api.adminToken}` },
    script: invokeScript,
    connections: functionConnections,
  };
  await waitForOk(invoke, "the function");

  const line = (label: string, f: Figures) =>
    `${label.padEnd(28)} ${f.rps.toFixed(0).padStart(8)} req/s   p50 ${f.p50.toFixed(2)} ms   p99 ${f.p99.toFixed(2)} ms`;

  for (const workers of workerCounts) {
    const plural = workers > 1 ? "s" : "";
    const nginxPort = await freePort();
    writeFileSync(
      join(nginxDir, "nginx.conf"),
      nginxConfig(nginxDir, workers, nginxPort, backendPort),
    );
    const stopNginx = start("nginx", ["-p", nginxDir, "-c", join(nginxDir, "nginx.conf")]);
    const gatewayPort = await freePort();
    // For a profile: BENCH_GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
    const nodeArgs = process.env.BENCH_GATEWAY_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
    const stopGateway = start(process.execPath, [...nodeArgs, gatewayScript], {
      DATABASE_URL: api.database.url,
      REDIS_URL: redisUrl,
      HOST: "127.0.0.1",
      SKIFF_GATEWAY_PORT: String(gatewayPort),
      SKIFF_GATEWAY_WORKERS: String(workers),
      SKIFF_GATEWAY_ACCESS_LOG: "false",
      LOG_LEVEL: "error",
    });
    try {
      const gatewayAt = `http://127.0.0.1:${gatewayPort}`;
      // "Host" as wrk spells it: wrk adds its own Host header unless one of that exact name is given.
      const apiHost = { Host: `${apiName}.localhost` };
      const nginx: Side = { label: "nginx", url: `http://127.0.0.1:${nginxPort}/` };
      const balancer: Side = { label: "skiff gateway", url: `${gatewayAt}/_/services/${name}/` };
      const keyed: Side = {
        label: "keyed API route",
        url: `${gatewayAt}/items`,
        headers: { ...apiHost, "x-api-key": key.value },
      };
      const functionRoute: Side = {
        label: "function route",
        url: `${gatewayAt}/fn`,
        headers: apiHost,
        connections: functionConnections,
      };
      await waitForOk(nginx, "nginx");
      await waitForOk(balancer, "the gateway");
      await waitForOk(keyed, "the keyed route");
      await waitForOk(functionRoute, "the function route");
      const [d, n, g, k, i, f] = (await measureInTurns([
        direct,
        nginx,
        balancer,
        keyed,
        invoke,
        functionRoute,
      ])) as [Figures, Figures, Figures, Figures, Figures, Figures];
      results.push(
        `${workers} worker${plural} each, ${connections} connections:`,
        line("  direct", d),
        line("  nginx", n),
        line("  skiff gateway", g),
        line("  keyed API route", k),
        `  gateway/nginx ${(g.rps / n.rps).toFixed(2)} (bar 0.5, aim 0.9), keyed/nginx ${(k.rps / n.rps).toFixed(2)} (bar 0.4, aim 0.8); p99 added over nginx ${(g.p99 - n.p99).toFixed(2)} ms, over direct ${(g.p99 - d.p99).toFixed(2)} ms (bar 2 ms)`,
        `  a function, ${functionConnections} connections:`,
        line("  invoke on the api", i),
        line("  function route", f),
        `  function route/invoke ${(f.rps / i.rps).toFixed(2)}; p50 added ${(f.p50 - i.p50).toFixed(2)} ms`,
      );
      console.info(results.slice(-10).join("\n"));
    } finally {
      await stopNginx();
      await stopGateway();
    }
  }
  console.info(
    `\nwrk -t1 -d${duration} --latency, one backend container; sides in turns after a 2 s warm-up each, median of ${rounds} rounds\n${results.join("\n")}`,
  );
  await admin("DELETE", `/v1/functions/${functionName}`);
} finally {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await api.stop();
  const ids = (
    await run("docker", ["ps", "-aq", "--filter", `label=skiff.service=${name}`])
  ).stdout.trim();
  if (ids) await run("docker", ["rm", "-f", ...ids.split("\n")]).catch(() => {});
  rmSync(nginxDir, { recursive: true, force: true });
}
