import { createServer, type Server } from "node:http";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../lib/logger.js";
import { call, listen, type ServedGateway, serveGateway } from "../../test/gateway.js";
import { createTestStack, type TestStack } from "../../test/harness.js";
import { seriesOf } from "../../test/metrics.js";
import { freePort } from "../../test/process.js";
import type { AccessDecision, AccessGate } from "../access.js";
import { ApiTable } from "../apis/services/api-table.js";
import { startGateway } from "../server.js";
import { newRequestObserver } from "./observer.js";
import { GatewayMetrics } from "./request-metrics.js";

// The access log and the request metrics of API requests through the gateway, against real
// PostgreSQL and Redis: what a user reads in the logs and at GET /v1/metrics.
let stack: TestStack;
let table: ApiTable;
let gateway: ServedGateway;
let upstream: Server;
let metrics: GatewayMetrics;
const lines: Record<string, unknown>[] = [];
const secretKey = "sk-very-secret-key-value";
/** Admits every key but "throttle-me" (a 429, as a usage plan's limit answers). */
const gate: AccessGate = {
  async admit(request): Promise<AccessDecision> {
    if (request.apiKey === "throttle-me")
      return {
        allowed: false,
        status: 429,
        body: '{"message":"Too Many Requests"}',
        headers: { "retry-after": "1" },
      };
    return { allowed: true, apiKeyId: request.apiKey ? "key_abc" : undefined, headers: {} };
  },
};

async function api(method: string, path: string, body?: unknown) {
  const response = await stack.request(path, {
    method,
    headers: {
      authorization: `Bearer ${stack.adminToken}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, text };
}

async function waitFor(check: () => boolean, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((done) => setTimeout(done, 25));
  }
}

beforeAll(async () => {
  stack = await createTestStack();
  upstream = createServer((req, res) => {
    res.statusCode = req.url?.startsWith("/fail") ? 502 : 200;
    res.end("ok");
  });
  const origin = `http://127.0.0.1:${await listen(upstream)}`;
  table = new ApiTable(stack.services.db, stack.services.redis, createLogger("silent"), 60_000);
  await table.start();
  // A long interval: the test flushes itself, so counts arrive when it says.
  metrics = new GatewayMetrics(stack.services.redis, { intervalMs: 60_000 });
  const accessLog = pino(
    { level: "info" },
    { write: (line: string) => lines.push(JSON.parse(line)) },
  );
  gateway = await serveGateway({
    targets: new Map(),
    domain: "skiff.test",
    logger: createLogger("silent"),
    apis: {
      table,
      functions: undefined,
      gate,
      db: stack.services.db,
      observer: newRequestObserver({ accessLog, metrics }),
    },
  });
  expect((await api("POST", "/v1/apis", { name: "obs" })).status).toBe(201);
  // A URL target's path is its own (not the request's): /fail answers 502.
  for (const [routeKey, url] of [
    ["GET /items/{id}", `${origin}/ok`],
    ["GET /fail", `${origin}/fail`],
  ]) {
    const route = await api("POST", "/v1/apis/obs/routes", { routeKey, target: { url } });
    expect(route.status, route.text).toBe(201);
  }
  await waitFor(() => table.current.byName.get("obs")?.routes.match("GET", "/fail") !== undefined);
});
afterAll(async () => {
  await gateway.close();
  await table.stop();
  await metrics.stop();
  upstream.close();
  await stack.close();
});

describe("the gateway's access log", () => {
  it("writes one JSON line per request, with ids and latencies and no header or key value", async () => {
    lines.length = 0;
    const answer = await call(gateway.port, "obs.skiff.test", "/items/7?token=abc", {
      headers: { "x-api-key": secretKey, "x-custom": "hidden-header-value" },
    });
    expect(answer.status, answer.body.toString()).toBe(200);
    const requestId = answer.headers["apigw-requestid"];
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    await waitFor(() => lines.length === 1);
    const line = lines[0] as Record<string, unknown>;
    expect(line).toMatchObject({
      level: 30,
      msg: "api request",
      requestId,
      apiId: table.current.byName.get("obs")?.id,
      routeKey: "GET /items/{id}",
      method: "GET",
      path: "/items/7",
      status: 200,
      apiKeyId: "key_abc",
      sourceIp: "127.0.0.1",
    });
    expect(line.latencyMs).toBeTypeOf("number");
    expect(line.integrationLatencyMs).toBeTypeOf("number");
    expect(line.integrationLatencyMs as number).toBeLessThanOrEqual(line.latencyMs as number);
    const raw = JSON.stringify(line);
    expect(raw).not.toContain(secretKey);
    expect(raw).not.toContain("hidden-header-value");
    expect(raw).not.toContain("token=abc");
  });

  it("logs a request no route matches, and one the gate refuses, without an integration", async () => {
    lines.length = 0;
    expect((await call(gateway.port, "obs.skiff.test", "/nowhere")).status).toBe(404);
    const refused = await call(gateway.port, "obs.skiff.test", "/items/1", {
      headers: { "x-api-key": "throttle-me" },
    });
    expect(refused.status).toBe(429);
    await waitFor(() => lines.length === 2);
    expect(lines[0]).toMatchObject({ routeKey: "-", status: 404, integrationLatencyMs: null });
    expect(lines[1]).toMatchObject({
      routeKey: "GET /items/{id}",
      status: 429,
      integrationLatencyMs: null,
      apiKeyId: null,
      requestId: refused.headers["apigw-requestid"],
    });
  });
});

describe("the gateway's request metrics at /v1/metrics", () => {
  it("counts requests, 4xx, 5xx, throttled and latencies per API and route", async () => {
    await metrics.flush();
    const before = await scrape();
    const n = 7;
    for (let i = 0; i < n; i++)
      expect((await call(gateway.port, "obs.skiff.test", `/items/${i}`)).status).toBe(200);
    for (let i = 0; i < 3; i++)
      expect((await call(gateway.port, "obs.skiff.test", "/fail")).status).toBe(502);
    for (let i = 0; i < 2; i++) {
      const answer = await call(gateway.port, "obs.skiff.test", "/items/1", {
        headers: { "x-api-key": "throttle-me" },
      });
      expect(answer.status).toBe(429);
    }
    // The counts are in memory until the flush; then every replica's show at /v1/metrics.
    await new Promise((done) => setTimeout(done, 50));
    await metrics.flush();
    const after = await scrape();
    const id = table.current.byName.get("obs")?.id;
    const items = `api="${id}",route="GET /items/{id}"`;
    const fail = `api="${id}",route="GET /fail"`;
    const delta = (series: string) => (after.get(series) ?? 0) - (before.get(series) ?? 0);
    expect(delta(`skiff_gateway_requests_total{${items}}`)).toBe(n + 2);
    expect(delta(`skiff_gateway_4xx_total{${items}}`)).toBe(2);
    expect(delta(`skiff_gateway_throttled_total{${items}}`)).toBe(2);
    expect(delta(`skiff_gateway_5xx_total{${items}}`)).toBe(0);
    expect(delta(`skiff_gateway_requests_total{${fail}}`)).toBe(3);
    expect(delta(`skiff_gateway_5xx_total{${fail}}`)).toBe(3);
    expect(delta(`skiff_gateway_latency_seconds_count{${items}}`)).toBe(n + 2);
    expect(delta(`skiff_gateway_latency_seconds_bucket{${items},le="+Inf"}`)).toBe(n + 2);
    // Throttled requests never reached the integration.
    expect(delta(`skiff_gateway_integration_latency_seconds_count{${items}}`)).toBe(n);
    expect(after.get(`skiff_gateway_latency_seconds_sum{${items}}`)).toBeGreaterThan(0);
  });
});

describe("the gateway as main.ts and gateway-main.ts start it", () => {
  it("logs each API request unless SKIFF_GATEWAY_ACCESS_LOG is false, and flushes its counts by itself", async () => {
    const id = table.current.byName.get("obs")?.id;
    const series = `skiff_gateway_requests_total{api="${id}",route="GET /fail"}`;
    const before = (await scrape()).get(series) ?? 0;
    for (const accessLog of [undefined, false]) {
      const logged: Record<string, unknown>[] = [];
      const logger = pino(
        { level: "info" },
        { write: (line: string) => logged.push(JSON.parse(line)) },
      );
      const port = await freePort();
      const served = await startGateway({
        db: stack.services.db,
        redis: stack.services.redis,
        logger,
        port,
        host: "127.0.0.1",
        domain: "skiff.test",
        gate,
        ...(accessLog === undefined ? {} : { accessLog }),
      });
      try {
        expect((await call(port, "obs.skiff.test", "/fail")).status).toBe(502);
        await new Promise((done) => setTimeout(done, 100));
        const lines = logged.filter((line) => line.msg === "api request");
        if (accessLog === false) expect(lines).toEqual([]);
        else expect(lines).toMatchObject([{ log: "access", routeKey: "GET /fail", status: 502 }]);
      } finally {
        await served.stop();
      }
    }
    // Both requests counted: each process's counts reach Redis, the last ones at its stop.
    expect(((await scrape()).get(series) ?? 0) - before).toBe(2);
  });
});

describe("the metrics of deleted routes and APIs", () => {
  it("leave /v1/metrics: a deleted route's series at once, all of a deleted API's", async () => {
    const id = table.current.byName.get("obs")?.id;
    const series = (route: string) => `skiff_gateway_requests_total{api="${id}",route="${route}"}`;
    const before = await scrape();
    expect(before.get(series("GET /fail"))).toBeGreaterThan(0);
    expect(before.get(series("GET /items/{id}"))).toBeGreaterThan(0);
    const routes = JSON.parse((await api("GET", "/v1/apis/obs/routes")).text).items as {
      id: string;
      routeKey: string;
    }[];
    const fail = routes.find((route) => route.routeKey === "GET /fail");
    expect((await api("DELETE", `/v1/apis/obs/routes/${fail?.id}`)).status).toBe(200);
    const after = await scrape();
    expect(after.has(series("GET /fail"))).toBe(false);
    expect(after.get(series("GET /items/{id}"))).toBe(before.get(series("GET /items/{id}")));
    expect((await api("DELETE", "/v1/apis/obs")).status).toBe(200);
    const gone = [...(await scrape()).keys()].filter((name) => name.includes(`api="${id}"`));
    expect(gone).toEqual([]);
  });
});

/** GET /v1/metrics as Prometheus would, as a map of series to value. */
async function scrape(): Promise<Map<string, number>> {
  const response = await stack.request("/v1/metrics", {
    headers: { authorization: `Bearer ${stack.adminToken}` },
  });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return seriesOf(text);
}
