import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../lib/logger.js";
import { call, listen } from "../../test/gateway.js";
import { createTestStack, type TestStack } from "../../test/harness.js";
import { freePort } from "../../test/process.js";
import { type GatewayServer, startGateway } from "../server.js";

// API keys and usage plans as a caller of an API meets them: through the gateway server as
// main.ts and gateway-main.ts start it, with the key gate it builds for itself.

let stack: TestStack;
let gateway: GatewayServer;
let gatewayPort = 0;
let upstream: Server;

beforeAll(async () => {
  stack = await createTestStack();
  upstream = createServer((req, res) => res.end(`upstream ${req.url}`));
  const upstreamPort = await listen(upstream);
  gatewayPort = await freePort();
  gateway = await startGateway({
    db: stack.services.db,
    redis: stack.services.redis,
    logger: createLogger("silent"),
    port: gatewayPort,
    host: "127.0.0.1",
    domain: "skiff.test",
  });
  const api = await admin("POST", "/v1/apis", { name: "shop" });
  await admin("POST", `/v1/apis/${api.id}/routes`, {
    routeKey: "GET /items",
    target: { url: `http://127.0.0.1:${upstreamPort}` },
    apiKeyRequired: true,
  });
  await admin("POST", `/v1/apis/${api.id}/routes`, {
    routeKey: "GET /open",
    target: { url: `http://127.0.0.1:${upstreamPort}` },
  });
  apiId = api.id;
});

afterAll(async () => {
  await gateway?.stop();
  upstream?.close();
  await stack?.close();
});

let apiId = "";

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

const shop = (path: string, key?: string) =>
  call(gatewayPort, "shop.skiff.test", path, { headers: key ? { "x-api-key": key } : {} });

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((next) => setTimeout(next, 50));
  }
}

describe("an API route that requires a key, behind a usage plan", () => {
  it("refuses callers without a usable key, throttles a key to its plan and counts its use", async () => {
    const opened = await eventually(
      () => shop("/open"),
      (answer) => answer.status === 200,
    );
    // A URL target without a greedy parameter is called at its own path, as AWS does.
    expect(opened.body.toString()).toBe("upstream /");

    const missing = await shop("/items");
    expect(missing.status).toBe(403);
    expect(JSON.parse(missing.body.toString())).toEqual({ message: "Forbidden" });
    expect((await shop("/items", "not-a-key-of-this-install-0000")).status).toBe(403);

    const key = await admin("POST", "/v1/api-keys", { name: "partner" });
    // A key in no plan for this API is refused too.
    const planless = await eventually(
      () => shop("/items", key.value),
      (answer) => answer.status === 403,
    );
    expect(planless.status).toBe(403);

    const plan = await admin("POST", "/v1/usage-plans", {
      name: "partners",
      apiIds: [apiId],
      throttle: { rateLimit: 0.01, burstLimit: 2 },
    });
    await admin("POST", `/v1/usage-plans/${plan.id}/keys`, { keyId: key.id });
    const first = await eventually(
      () => shop("/items", key.value),
      (answer) => answer.status === 200,
    );
    expect(first.status).toBe(200);
    expect(first.body.toString()).toBe("upstream /");
    expect(first.headers["x-ratelimit-limit"]).toBeDefined();
    expect((await shop("/items", key.value)).status).toBe(200);
    const throttled = await shop("/items", key.value);
    expect(throttled.status).toBe(429);
    expect(JSON.parse(throttled.body.toString())).toEqual({ message: "Too Many Requests" });
    expect(Number(throttled.headers["retry-after"])).toBeGreaterThan(0);

    const today = new Date().toISOString().slice(0, 10);
    const usage = await admin(
      "GET",
      `/v1/usage-plans/${plan.id}/usage?startDate=${today}&endDate=${today}`,
    );
    expect(usage.items[key.id]?.[0]?.[0]).toBe(2);

    await admin("PATCH", `/v1/api-keys/${key.id}`, { enabled: false });
    const disabled = await eventually(
      () => shop("/items", key.value),
      (answer) => answer.status === 403,
    );
    expect(disabled.status).toBe(403);
  });
});
