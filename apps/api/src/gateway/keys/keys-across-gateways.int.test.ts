import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Answer, call, listen } from "../../test/gateway.js";
import { createTestStack, type TestStack } from "../../test/harness.js";
import { freePort } from "../../test/process.js";
import { waitFor } from "../../test/wait.js";

// Keys, throttles and quotas as three gateway replicas enforce them together: three
// gateway-main processes, as compose runs them, on one database and one Redis. Every refusal and
// every admission is counted: the counts must be exact, not near.
const gatewayMain = fileURLToPath(new URL("../../../dist/gateway-main.js", import.meta.url));

let stack: TestStack;
let upstream: Server;
let apiId = "";
const gateways: { port: number; child: ChildProcess; output: () => string }[] = [];
const dataDir = mkdtempSync(join(tmpdir(), "skiff-keys-gateways-"));

async function admin(method: string, path: string, body?: unknown) {
  const response = await stack.request(path, {
    method,
    headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  expect(response.status, `${method} ${path}: ${text}`).toBeLessThan(300);
  return text ? JSON.parse(text) : undefined;
}

function startGatewayMain(port: number) {
  let output = "";
  const child = spawn(process.execPath, [gatewayMain], {
    env: {
      PATH: process.env.PATH ?? "",
      DATABASE_URL: stack.databaseUrl,
      REDIS_URL: inject("redisUrl"),
      SKIFF_REDIS_PREFIX: String(stack.services.redis.options.keyPrefix),
      SKIFF_SECRETS_KEY: randomBytes(32).toString("base64"),
      SKIFF_GATEWAY_PORT: String(port),
      SKIFF_DOMAIN: "skiff.test",
      SKIFF_DATA_DIR: join(dataDir, String(port)),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  gateways.push({ port, child, output: () => output });
}

/** Each of `count` requests through the next gateway in turn, all at once. */
async function spread(count: number, key?: string): Promise<Answer[]> {
  const headers: Record<string, string> = key ? { "x-api-key": key } : {};
  return Promise.all(
    Array.from({ length: count }, (_, i) => {
      const gateway = gateways[i % gateways.length] as (typeof gateways)[number];
      return call(gateway.port, "shop.skiff.test", "/items", { headers });
    }),
  );
}

const tally = (answers: Answer[]) => {
  const counts: Record<string, number> = {};
  for (const answer of answers) {
    const label =
      answer.status === 200
        ? "200"
        : `${answer.status} ${JSON.parse(answer.body.toString()).message}`;
    counts[label] = (counts[label] ?? 0) + 1;
  }
  return counts;
};

/** A key in a plan of its own for the API, once every gateway admits it. */
async function keyInPlan(name: string, plan: Record<string, unknown>) {
  const key = await admin("POST", "/v1/api-keys", { name });
  const probe = await admin("POST", "/v1/api-keys", { name: `${name}-probe` });
  const created = await admin("POST", "/v1/usage-plans", { name, apiIds: [apiId], ...plan });
  await admin("POST", `/v1/usage-plans/${created.id}/keys`, { keyId: key.id });
  await admin("POST", `/v1/usage-plans/${created.id}/keys`, { keyId: probe.id });
  // The probe key, loaded in the same reload, shows each gateway knows the key: a plan's limits
  // are per key, so probing spends nothing of the key under test.
  for (const gateway of gateways) {
    await waitFor(`gateway ${gateway.port} admitting the ${name} key`, 15_000, async () => {
      const answer = await call(gateway.port, "shop.skiff.test", "/items", {
        headers: { "x-api-key": probe.value },
      });
      return answer.status === 200 ? true : undefined;
    });
  }
  return { key: key.value as string, planId: created.id as string };
}

beforeAll(async () => {
  stack = await createTestStack();
  upstream = createServer((_req, res) => res.end("upstream"));
  const upstreamPort = await listen(upstream);
  const api = await admin("POST", "/v1/apis", { name: "shop" });
  apiId = api.id;
  await admin("POST", `/v1/apis/${apiId}/routes`, {
    routeKey: "GET /items",
    target: { url: `http://127.0.0.1:${upstreamPort}` },
    apiKeyRequired: true,
  });
  for (let i = 0; i < 3; i++) startGatewayMain(await freePort());
  for (const gateway of gateways) {
    await waitFor(`gateway ${gateway.port} serving the API`, 30_000, async () => {
      const answer = await call(gateway.port, "shop.skiff.test", "/items").catch(() => undefined);
      return answer?.status === 403 ? true : undefined;
    }).catch((error) => {
      throw new Error(`${(error as Error).message}\n${gateway.output()}`);
    });
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(
    gateways.map(async ({ child }) => {
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once("exit", done));
      child.kill("SIGTERM");
      const kill = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(kill);
    }),
  );
  upstream?.close();
  await stack?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("API keys and usage plans across three gateway processes", () => {
  it("refuses a missing or unknown key on every gateway", async () => {
    expect(tally(await spread(6))).toEqual({ "403 Forbidden": 6 });
    expect(tally(await spread(6, "not-a-key-of-this-install-0000"))).toEqual({
      "403 Forbidden": 6,
    });
  });

  it("admits exactly the burst of a plan's throttle, whichever gateway a request reaches", async () => {
    // A rate too slow to refill a token during the test: only the burst is admitted.
    const { key } = await keyInPlan("burst", { throttle: { rateLimit: 0.001, burstLimit: 7 } });
    expect(tally(await spread(30, key))).toEqual({ "200": 7, "429 Too Many Requests": 23 });
  });

  it("admits exactly a plan's quota, and a refused request spends none of it", async () => {
    const { key, planId } = await keyInPlan("quota", {
      throttle: { rateLimit: 1_000, burstLimit: 1_000 },
      quota: { limit: 11, period: "DAY" },
    });
    expect(tally(await spread(30, key))).toEqual({ "200": 11, "429 Limit Exceeded": 19 });
    expect(tally(await spread(3, key))).toEqual({ "429 Limit Exceeded": 3 });
    const today = new Date().toISOString().slice(0, 10);
    const usage = await admin(
      "GET",
      `/v1/usage-plans/${planId}/usage?startDate=${today}&endDate=${today}`,
    );
    const used = Object.values(usage.items as Record<string, [number, number][]>).map(
      (days) => days[0],
    );
    // The key under test, and its probe.
    expect(used).toContainEqual([11, 0]);
  });
});
