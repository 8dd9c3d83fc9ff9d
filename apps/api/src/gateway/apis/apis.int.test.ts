import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../lib/logger.js";
import { call, listen, type ServedGateway, serveGateway } from "../../test/gateway.js";
import { createTestStack, type TestStack } from "../../test/harness.js";
import type { AccessDecision, AccessGate, AccessRequest } from "../access.js";
import type { Target } from "../targets.js";
import { ApiTable } from "./services/api-table.js";

// The /v1/apis resource against real PostgreSQL and Redis, and the gateway serving its APIs
// (service and URL targets, custom host names, CORS, the access gate) with real upstream HTTP
// servers. Routes to functions: e2e/gateway-apis.int.test.ts.
let stack: TestStack;
let table: ApiTable;
let gateway: ServedGateway;
const upstreams: Server[] = [];
const serviceTargets = new Map<string, Target[]>();
const admitted: AccessRequest[] = [];
/** The seam gwkeys implements: here it refuses requests whose x-api-key is "bad". */
const gate: AccessGate = {
  async admit(request): Promise<AccessDecision> {
    admitted.push(request);
    if (request.apiKey === "bad")
      return {
        allowed: false,
        status: 403,
        body: '{"message":"Forbidden"}',
        headers: { "x-why": "key" },
      };
    return { allowed: true, apiKeyId: "key-1", headers: { "x-ratelimit-remaining": "9" } };
  },
};

async function upstream(name: string): Promise<string> {
  const server = createServer((req, res) => {
    res.setHeader("content-type", "text/plain");
    res.end(`${name} ${req.method} ${req.url} host=${req.headers.host}`);
  });
  upstreams.push(server);
  return `http://127.0.0.1:${await listen(server)}`;
}

beforeAll(async () => {
  stack = await createTestStack();
  table = new ApiTable(stack.services.db, stack.services.redis, createLogger("silent"), 60_000);
  await table.start();
  gateway = await serveGateway({
    targets: serviceTargets,
    domain: "skiff.test",
    logger: createLogger("silent"),
    apis: { table, functions: undefined, gate, db: stack.services.db },
  });
});
afterAll(async () => {
  await gateway.close();
  await table.stop();
  for (const server of upstreams) server.close();
  await stack.close();
});

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
  return { status: response.status, json: text ? JSON.parse(text) : undefined, text };
}

async function waitFor(check: () => boolean | Promise<boolean>, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((done) => setTimeout(done, 25));
  }
}

async function get(host: string, path = "/", options: Parameters<typeof call>[3] = {}) {
  const answer = await call(gateway.port, host, path, options);
  return { ...answer, text: answer.body.toString() };
}

describe("/v1/apis", () => {
  it("creates, lists, reads, changes and deletes an API with its routes", async () => {
    const created = await api("POST", "/v1/apis", { name: "shop", description: "the shop" });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({ name: "shop", description: "the shop", cors: null });
    expect(created.json.id).toMatch(/^[a-z0-9]{10}$/);
    expect(created.json.apiEndpoint).toContain("shop.");
    const id = created.json.id as string;

    expect((await api("POST", "/v1/apis", { name: "shop" })).status).toBe(409);
    expect((await api("GET", `/v1/apis/${id}`)).json.name).toBe("shop");
    expect((await api("GET", "/v1/apis/shop")).json.id).toBe(id);
    const listed = await api("GET", "/v1/apis?limit=10");
    expect(listed.json.items.map((a: { name: string }) => a.name)).toContain("shop");

    const patched = await api("PATCH", "/v1/apis/shop", {
      throttle: { rateLimit: 10, burstLimit: 20 },
      description: null,
    });
    expect(patched.json).toMatchObject({
      description: null,
      throttle: { rateLimit: 10, burstLimit: 20 },
    });

    const route = await api("POST", "/v1/apis/shop/routes", {
      routeKey: "GET /items/{id}",
      target: { function: "items" },
    });
    expect(route.status, route.text).toBe(201);
    expect(route.json).toMatchObject({
      routeKey: "GET /items/{id}",
      target: { function: "items", payloadFormatVersion: "2.0", timeoutMs: 29_000 },
      apiKeyRequired: false,
      throttle: null,
    });
    const routeId = route.json.id as string;
    const duplicate = await api("POST", "/v1/apis/shop/routes", {
      routeKey: "GET /items/{id}",
      target: { service: "x" },
    });
    expect(duplicate.status).toBe(409);
    const changed = await api("PATCH", `/v1/apis/shop/routes/${routeId}`, {
      apiKeyRequired: true,
      throttle: { rateLimit: 1, burstLimit: 1 },
    });
    expect(changed.json).toMatchObject({
      apiKeyRequired: true,
      throttle: { rateLimit: 1, burstLimit: 1 },
    });
    expect((await api("GET", "/v1/apis/shop/routes")).json.items).toHaveLength(1);
    expect((await api("GET", `/v1/apis/shop/routes/${routeId}`)).json.id).toBe(routeId);
    expect((await api("DELETE", `/v1/apis/shop/routes/${routeId}`)).status).toBe(200);
    expect((await api("GET", `/v1/apis/shop/routes/${routeId}`)).status).toBe(404);

    expect((await api("DELETE", "/v1/apis/shop")).status).toBe(200);
    expect((await api("GET", "/v1/apis/shop")).status).toBe(404);
  });

  it("refuses bad input with a 400 naming the field, and creates nothing", async () => {
    const cases: [unknown, RegExp][] = [
      [{ name: "Bad_Name" }, /name: must be a DNS label/],
      [{ name: "-x" }, /name/],
      [{ name: "ok", throttle: { rateLimit: -1, burstLimit: 1 } }, /throttle.rateLimit/],
      [{ name: "ok", cors: { allowOrigins: ["ftp://x"] } }, /cors.allowOrigins/],
      [{ name: "ok", extra: 1 }, /extra|unrecognized/i],
    ];
    for (const [body, message] of cases) {
      const answer = await api("POST", "/v1/apis", body);
      expect(answer.status, answer.text).toBe(400);
      expect(answer.json.error.code).toBe("ValidationError");
      expect(answer.json.error.message).toMatch(message);
    }
    expect((await api("GET", "/v1/apis/ok")).status).toBe(404);

    await api("POST", "/v1/apis", { name: "strict" });
    const routes: [unknown, RegExp][] = [
      [{ routeKey: "FETCH /x", target: { service: "s" } }, /routeKey: method must be one of/],
      [{ routeKey: "GET /{a+}/b", target: { service: "s" } }, /routeKey: greedy/],
      [{ routeKey: "GET x", target: { service: "s" } }, /routeKey: path must start/],
      [{ routeKey: "$default", target: { url: "http://169.254.169.254/latest" } }, /target/],
      [{ routeKey: "$default", target: { url: "http://[fe80::1]/" } }, /target/],
      [{ routeKey: "$default", target: { url: "ftp://example.com/" } }, /target/],
      [{ routeKey: "$default", target: { url: "http://metadata.google.internal/" } }, /target/],
      [{ routeKey: "$default", target: { function: "f", timeoutMs: 31_000 } }, /target/],
      [{ routeKey: "$default", target: { function: "f", payloadFormatVersion: "3.0" } }, /target/],
      [{ routeKey: "$default", target: {} }, /target/],
    ];
    for (const [body, message] of routes) {
      const answer = await api("POST", "/v1/apis/strict/routes", body);
      expect(answer.status, answer.text).toBe(400);
      expect(answer.json.error.message).toMatch(message);
    }
    expect((await api("GET", "/v1/apis/strict/routes")).json.items).toEqual([]);
    expect(
      (
        await api("POST", "/v1/apis/nope/routes", {
          routeKey: "$default",
          target: { service: "s" },
        })
      ).status,
    ).toBe(404);
    expect((await api("POST", "/v1/domain-names", { hostname: "x.example.com" })).status).toBe(400);
    expect(
      (await api("POST", "/v1/domain-names", { hostname: "nodots", api: "strict" })).status,
    ).toBe(400);
    expect(
      (await api("POST", "/v1/domain-names", { hostname: "a.example.com", service: "nope" }))
        .status,
    ).toBe(404);
  });

  it("refuses an API named as a service (both answer at <name>.<domain>)", async () => {
    await stack.admin.createPool("apis");
    await stack.admin.registerTaskDefinition({
      family: "web",
      cpu: 256,
      memory: 256,
      containers: [
        { name: "web", image: "skiff-test/busybox:latest", portMappings: [{ containerPort: 80 }] },
      ],
    });
    await stack.admin.request("POST", "/v1/services", undefined, {
      name: "web",
      taskDefinition: "web",
      desiredCount: 0,
      pool: "apis",
      loadBalancer: { containerName: "web", containerPort: 80 },
    });
    const answer = await api("POST", "/v1/apis", { name: "web" });
    expect(answer.status, answer.text).toBe(409);
    expect(answer.json.error.message).toMatch(/service web/);
  });

  it("needs the read scope to list and deploy to change", async () => {
    expect((await stack.request("/v1/apis")).status).toBe(401);
  });
});

describe("the gateway serving APIs", () => {
  let apiId = "";
  beforeAll(async () => {
    const origin = await upstream("u");
    serviceTargets.set("web", [{ taskId: "t1", url: await upstream("svc") }]);
    const created = await api("POST", "/v1/apis", {
      name: "front",
      cors: {
        allowOrigins: ["https://app.example"],
        allowMethods: ["GET", "POST"],
        allowHeaders: ["x-token"],
        maxAge: 300,
      },
      throttle: { rateLimit: 5, burstLimit: 10 },
    });
    apiId = created.json.id;
    for (const [routeKey, target] of [
      ["GET /svc/{id}", { service: "web" }],
      ["ANY /proxy/{rest+}", { url: `${origin}/base?fixed=1` }],
      ["GET /exact", { url: `${origin}/exact-target` }],
      ["GET /nobody", { service: "missing" }],
      // By name: the connection's lookup is the guarded one.
      ["GET /byname", { url: origin.replace("127.0.0.1", "localhost") }],
    ] as const) {
      const route = await api("POST", "/v1/apis/front/routes", {
        routeKey,
        target,
        ...(routeKey === "GET /exact"
          ? { apiKeyRequired: true, throttle: { rateLimit: 1, burstLimit: 2 } }
          : {}),
      });
      expect(route.status, route.text).toBe(201);
    }
    await waitFor(
      () => table.current.byName.get("front")?.routes.match("GET", "/byname") !== undefined,
    );
  });

  it("sends a route to a service's targets with the path passed through", async () => {
    const answer = await get("front.skiff.test:8000", "/svc/7?q=1");
    expect(answer.status, answer.text).toBe(200);
    expect(answer.text).toBe("svc GET /svc/7?q=1 host=front.skiff.test:8000");
    expect(answer.headers["apigw-requestid"]).toBeTruthy();
    const none = await get("front.skiff.test", "/nobody");
    expect(none.status).toBe(503);
    expect(JSON.parse(none.text)).toEqual({ message: "Service Unavailable" });
  });

  it("proxies to a URL, the greedy path appended, the query kept, Host the URL's", async () => {
    const answer = await get("front.skiff.test", "/proxy/a/b%20c?x=2", {
      method: "POST",
      body: "hi",
    });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.text).toMatch(/^u POST \/base\/a\/b%20c\?fixed=1&x=2 host=127\.0\.0\.1:\d+$/);
  });

  it("reaches a URL target by host name (resolved, checked, connected)", async () => {
    const answer = await get("front.skiff.test", "/byname");
    expect(answer.status, answer.text).toBe(200);
    expect(answer.text).toMatch(/^u GET \/ host=localhost:\d+$/);
  });

  it("answers 404 {message} for no route, as API Gateway", async () => {
    const answer = await get("front.skiff.test", "/nothing");
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.text)).toEqual({ message: "Not Found" });
    expect((await get("front.skiff.test", "/svc/1", { method: "POST" })).status).toBe(404);
  });

  it("asks the access gate with the route's and API's settings and obeys it", async () => {
    admitted.length = 0;
    const allowed = await get("front.skiff.test", "/exact", { headers: { "x-api-key": "good" } });
    expect(allowed.status, allowed.text).toBe(200);
    expect(allowed.text).toMatch(/^u GET \/exact-target host=/);
    expect(allowed.headers["x-ratelimit-remaining"]).toBe("9");
    expect(admitted).toEqual([
      {
        apiId,
        routeKey: "GET /exact",
        apiKeyRequired: true,
        apiKey: "good",
        apiThrottle: { rateLimit: 5, burstLimit: 10 },
        routeThrottle: { rateLimit: 1, burstLimit: 2 },
      },
    ]);
    const refused = await get("front.skiff.test", "/exact", { headers: { "x-api-key": "bad" } });
    expect(refused.status).toBe(403);
    expect(refused.text).toBe('{"message":"Forbidden"}');
    expect(refused.headers["x-why"]).toBe("key");
  });

  it("answers CORS preflights itself and adds CORS headers to allowed origins", async () => {
    const preflight = await get("front.skiff.test", "/anything-at-all", {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers).toMatchObject({
      "access-control-allow-origin": "https://app.example",
      "access-control-allow-methods": "GET,POST",
      "access-control-allow-headers": "x-token",
      "access-control-max-age": "300",
    });
    const stranger = await get("front.skiff.test", "/svc/1", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
    });
    expect(stranger.status).toBe(204);
    expect(stranger.headers["access-control-allow-origin"]).toBeUndefined();
    const actual = await get("front.skiff.test", "/svc/1", {
      headers: { origin: "https://app.example" },
    });
    expect(actual.status).toBe(200);
    expect(actual.headers["access-control-allow-origin"]).toBe("https://app.example");
  });

  it("serves a custom host name mapped to an API or to a service", async () => {
    const toApi = await api("POST", "/v1/domain-names", {
      hostname: "API.Example.com",
      api: "front",
    });
    expect(toApi.status, toApi.text).toBe(201);
    expect(toApi.json.hostname).toBe("api.example.com");
    expect(
      (await api("POST", "/v1/domain-names", { hostname: "api.example.com", service: "web" }))
        .status,
    ).toBe(409);
    const toService = await api("POST", "/v1/domain-names", {
      hostname: "www.example.com",
      service: "web",
    });
    expect(toService.status, toService.text).toBe(201);
    await waitFor(() => table.current.hosts.size >= 2);
    expect((await get("api.example.com:8000", "/svc/3")).text).toBe(
      "svc GET /svc/3 host=api.example.com:8000",
    );
    expect((await get("api.example.com", "/nothing")).status).toBe(404);
    // A host name of a service: every path goes to it, no routes.
    expect((await get("www.example.com", "/any/path")).text).toBe(
      "svc GET /any/path host=www.example.com",
    );
    expect((await api("GET", "/v1/domain-names")).json.items).toHaveLength(2);
    expect((await api("DELETE", "/v1/domain-names/www.example.com")).status).toBe(200);
    await waitFor(() => table.current.hosts.size === 1);
    expect((await get("www.example.com", "/any/path")).status).toBe(404);
  });

  it("stops serving a deleted API at once (the change is published)", async () => {
    await api("POST", "/v1/apis", { name: "brief" });
    await api("POST", "/v1/apis/brief/routes", {
      routeKey: "$default",
      target: { service: "web" },
    });
    await waitFor(async () => (await get("brief.skiff.test", "/x")).status === 200);
    await api("DELETE", "/v1/apis/brief");
    await waitFor(async () => (await get("brief.skiff.test", "/x")).status !== 200);
    // Not an API any more: the service routing's answer (no such service), Skiff's error body.
    const gone = await get("brief.skiff.test", "/x");
    expect(gone.status).toBe(503);
    expect(JSON.parse(gone.text).error.code).toBe("ServiceUnavailable");
  });
});
