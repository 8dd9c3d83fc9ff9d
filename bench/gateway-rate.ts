import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { freePort } from "../apps/api/src/test/process.js";
import { poll, redisUrl, sleep, startBenchApi } from "./support.js";

// Rate-limit accuracy of issue 17: three gateway-main processes on one database and one Redis,
// a usage plan of 100 requests/s with a burst of 100, and one key offered 1,000 requests/s for
// 10 s, spread over the three gateways in turn. A token bucket admits its burst and then its
// rate: 100 + 100 x 10 = 1,100. Bar: admitted within 1% of that.
// BENCH_RATE (100), BENCH_BURST (100), BENCH_OFFERED (1000 a second), BENCH_SECONDS (10).
const rate = Number(process.env.BENCH_RATE ?? 100);
const burst = Number(process.env.BENCH_BURST ?? 100);
const offered = Number(process.env.BENCH_OFFERED ?? 1000);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const name = `gwrate-${randomBytes(4).toString("hex")}`;
const gatewayScript = fileURLToPath(new URL("../apps/api/dist/gateway-main.js", import.meta.url));
if (!existsSync(gatewayScript)) throw new Error(`${gatewayScript} is missing: run npm run build`);

const upstream = createServer((_req, res) => res.end("ok"));
await new Promise<void>((done) => upstream.listen(0, "127.0.0.1", done));
const upstreamPort = (upstream.address() as AddressInfo).port;
const api = await startBenchApi({ SKIFF_GATEWAY_PORT: "0", LOG_LEVEL: "error" });
const agent = new Agent({ keepAlive: true, maxSockets: 128 });
const gateways: { port: number; stop: () => void }[] = [];

const admin = (method: string, path: string, body?: unknown) => api.call(method, path, body);

/** GET /items on one gateway with a key: the status, 0 when the request failed. */
function get(port: number, key: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/items",
        agent,
        headers: { host: `${name}.localhost`, "x-api-key": key },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(0));
    req.end();
  });
}

try {
  const httpApi = await admin("POST", "/v1/apis", { name });
  await admin("POST", `/v1/apis/${httpApi.id}/routes`, {
    routeKey: "GET /items",
    target: { url: `http://127.0.0.1:${upstreamPort}` },
    apiKeyRequired: true,
  });
  const key = await admin("POST", "/v1/api-keys", { name });
  // A plan's limits hold per key: the probe key shows a gateway has loaded the plan without
  // spending the measured key's tokens.
  const probe = await admin("POST", "/v1/api-keys", { name: `${name}-probe` });
  const plan = await admin("POST", "/v1/usage-plans", {
    name,
    apiIds: [httpApi.id],
    throttle: { rateLimit: rate, burstLimit: burst },
  });
  for (const { id } of [key, probe]) {
    await admin("POST", `/v1/usage-plans/${plan.id}/keys`, { keyId: id });
  }
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const child = spawn(process.execPath, [gatewayScript], {
      env: {
        PATH: process.env.PATH ?? "",
        DATABASE_URL: api.database.url,
        REDIS_URL: redisUrl,
        HOST: "127.0.0.1",
        SKIFF_GATEWAY_PORT: String(port),
        SKIFF_GATEWAY_ACCESS_LOG: "false",
        LOG_LEVEL: "error",
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    gateways.push({ port, stop: () => child.kill("SIGTERM") });
  }
  for (const { port } of gateways) {
    await poll(`the gateway on ${port}`, 30_000, async () =>
      (await get(port, probe.value)) === 200 ? true : undefined,
    );
  }

  const statuses = new Map<number, number>();
  const pending: Promise<void>[] = [];
  const total = offered * seconds;
  const started = performance.now();
  let sent = 0;
  let lastSentAt = started;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * offered) + 1);
    for (; sent < due; sent++) {
      const port = (gateways[sent % gateways.length] as { port: number }).port;
      pending.push(
        get(port, key.value).then((status) => {
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }),
      );
    }
    lastSentAt = performance.now();
    await sleep(1);
  }
  await Promise.all(pending);
  const window = (lastSentAt - started) / 1000;
  const admitted = statuses.get(200) ?? 0;
  const expected = burst + rate * seconds;
  const error = ((admitted - expected) / expected) * 100;
  console.info(
    `three gateways, a plan of ${rate}/s with burst ${burst}, ${offered}/s offered for ${window.toFixed(2)} s (${total} requests): admitted ${admitted}, expected ${expected}, error ${error.toFixed(2)}% (bar 1%); statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
  );
} finally {
  for (const gateway of gateways) gateway.stop();
  agent.destroy();
  upstream.close();
  await api.stop();
}
