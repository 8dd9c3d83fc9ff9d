import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort } from "../lib/embedded-redis.js";
import { type AllInOne, startAllInOne } from "../test/all-in-one.js";
import { type Answer, call } from "../test/gateway.js";
import { waitFor } from "../test/wait.js";

// HTTP APIs and function URLs end to end: the all-in-one's gateway invokes a real node function
// (runtime image skiff/lambda:nodejs24.x on the local fargate node) with payloads 2.0 and 1.0,
// and a gateway-main process serves the same API, as compose runs it.
const adminToken = "e2e-gateway-apis-token-0123456789ab";
const runId = randomBytes(4).toString("hex");
const redisPrefix = `test:gwapis-${runId}:`;
const gatewayMain = fileURLToPath(new URL("../../dist/gateway-main.js", import.meta.url));
const auth = { authorization: `Bearer ${adminToken}` };

let stack: AllInOne;
let gatewayPort = 0;
let apiId = "";

/** Echoes the event it gets; some paths answer in the other response shapes. */
const handler = `exports.handler = async (event) => {
  const path = event.rawPath ?? event.path;
  if (path.endsWith("/shaped")) return {
    statusCode: 201,
    headers: { "x-a": "1", "content-type": "application/octet-stream" },
    multiValueHeaders: { "x-m": ["1", "2"] },
    cookies: ["a=1; Path=/", "b=2"],
    body: Buffer.from([0, 1, 2, 255]).toString("base64"),
    isBase64Encoded: true,
  };
  if (path.endsWith("/short")) return { hello: "world" };
  if (path.endsWith("/text")) return "plain";
  if (path.endsWith("/fail")) throw new Error("boom");
  if (path.endsWith("/slow")) { await new Promise((r) => setTimeout(r, 3000)); return "late"; }
  if (path.endsWith("/nostatus")) return { hello: 1 };
  return { statusCode: 200, headers: { "content-type": "application/json" }, body: JSON.stringify(event) };
};`;

const api = (method: string, path: string, body?: unknown) => stack.call(method, path, body);

const json = (answer: Answer) => JSON.parse(answer.body.toString());

beforeAll(async () => {
  gatewayPort = await freePort();
  stack = await startAllInOne("gwapis", adminToken, {
    SKIFF_GATEWAY_PORT: String(gatewayPort),
    SKIFF_DOMAIN: "skiff.test",
    SKIFF_REDIS_PREFIX: redisPrefix,
  });
  const zip = Buffer.from(zipSync({ "index.js": Buffer.from(handler) })).toString("base64");
  const fn = await api("POST", "/v1/functions", {
    name: "echo",
    runtime: "nodejs24.x",
    handler: "index.handler",
    memory: 128,
    code: { zipBase64: zip },
  });
  expect(fn.status, fn.text).toBe(201);
  // Reserved concurrency 0: every invocation is throttled.
  const closed = await api("POST", "/v1/functions", {
    name: "closed",
    runtime: "nodejs24.x",
    handler: "index.handler",
    memory: 128,
    reservedConcurrency: 0,
    code: { zipBase64: zip },
  });
  expect(closed.status, closed.text).toBe(201);
  const created = await api("POST", "/v1/apis", { name: "shop" });
  expect(created.status, created.text).toBe(201);
  apiId = created.json.id;
  for (const [routeKey, target] of [
    ["GET /items/{id}", { function: "echo" }],
    ["POST /upload", { function: "echo" }],
    ["ANY /v1/{proxy+}", { function: "echo", payloadFormatVersion: "1.0" }],
    ["GET /slow", { function: "echo", timeoutMs: 1000 }],
    ["GET /closed", { function: "closed" }],
  ] as const) {
    const route = await api("POST", "/v1/apis/shop/routes", { routeKey, target });
    expect(route.status, route.text).toBe(201);
  }
  // The gateway's table reloads on the published change: wait for the last route made (a
  // reload may fall between two creations).
  await waitFor("the API's routes on the gateway", 10_000, async () => {
    const answer = await call(gatewayPort, "shop.skiff.test", "/closed").catch(() => undefined);
    return answer?.status === 429 ? true : undefined;
  });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

describe("a route to a function, payload 2.0", () => {
  it("hands the handler the event as API Gateway builds it", async () => {
    const answer = await call(gatewayPort, "shop.skiff.test:8000", "/items/42?a=1&a=2&b=x%20y", {
      headers: { cookie: "c1=v1; c2=v2", "user-agent": "tester/1", "x-custom": "yes" },
    });
    expect(answer.status, answer.body.toString()).toBe(200);
    const event = json(answer);
    expect(event).toMatchObject({
      version: "2.0",
      routeKey: "GET /items/{id}",
      rawPath: "/items/42",
      rawQueryString: "a=1&a=2&b=x%20y",
      cookies: ["c1=v1", "c2=v2"],
      queryStringParameters: { a: "1,2", b: "x y" },
      pathParameters: { id: "42" },
      isBase64Encoded: false,
      requestContext: {
        apiId,
        domainName: "shop.skiff.test",
        domainPrefix: "shop",
        http: {
          method: "GET",
          path: "/items/42",
          protocol: "HTTP/1.1",
          sourceIp: "127.0.0.1",
          userAgent: "tester/1",
        },
        routeKey: "GET /items/{id}",
        stage: "$default",
      },
    });
    expect(event.headers["x-custom"]).toBe("yes");
    expect(event.headers.cookie).toBeUndefined();
    expect(event.body).toBeUndefined();
    expect(event.requestContext.accountId).toMatch(/^\d{12}$/);
    expect(event.requestContext.requestId).toBe(answer.headers["apigw-requestid"]);
    expect(event.requestContext.time).toMatch(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
    expect(Math.abs(event.requestContext.timeEpoch - Date.now())).toBeLessThan(60_000);
  }, 60_000);

  it("passes a binary body base64 and a text body as text", async () => {
    const bytes = Buffer.from([0, 159, 146, 150, 255]);
    const binary = json(
      await call(gatewayPort, "shop.skiff.test", "/upload", {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: bytes,
      }),
    );
    expect(binary).toMatchObject({ isBase64Encoded: true, body: bytes.toString("base64") });
    const text = json(
      await call(gatewayPort, "shop.skiff.test", "/upload", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"n":1}',
      }),
    );
    expect(text).toMatchObject({ isBase64Encoded: false, body: '{"n":1}' });
  });

  it("answers the handler's response: status, headers, cookies, base64 body", async () => {
    const answer = await call(gatewayPort, "shop.skiff.test", "/items/shaped");
    expect(answer.status).toBe(201);
    expect(answer.headers["x-a"]).toBe("1");
    expect(answer.headers["x-m"]).toBe("1, 2");
    expect(answer.headers["set-cookie"]).toEqual(["a=1; Path=/", "b=2"]);
    expect([...answer.body]).toEqual([0, 1, 2, 255]);
  });

  it("reads the 2.0 shorthand: an object or a string without statusCode is a 200 JSON", async () => {
    const object = await call(gatewayPort, "shop.skiff.test", "/items/short");
    expect(object.status).toBe(200);
    expect(object.headers["content-type"]).toBe("application/json");
    expect(json(object)).toEqual({ hello: "world" });
    const text = await call(gatewayPort, "shop.skiff.test", "/items/text");
    expect(text.status).toBe(200);
    expect(text.body.toString()).toBe("plain");
  });

  it("answers 500 {message} when the function fails", async () => {
    const answer = await call(gatewayPort, "shop.skiff.test", "/items/fail");
    expect(answer.status).toBe(500);
    expect(json(answer)).toEqual({ message: "Internal Server Error" });
  });
});

describe("a route to a function that cannot answer", () => {
  it("answers 503 past the integration timeout and 429 when the function is throttled", async () => {
    const started = Date.now();
    const slow = await call(gatewayPort, "shop.skiff.test", "/slow");
    expect(slow.status).toBe(503);
    expect(json(slow)).toEqual({ message: "Service Unavailable" });
    expect(Date.now() - started).toBeLessThan(2_900);
    const closed = await call(gatewayPort, "shop.skiff.test", "/closed");
    expect(closed.status).toBe(429);
    expect(json(closed)).toEqual({ message: "Too Many Requests" });
  });
});

describe("a route to a function, payload 1.0", () => {
  it("hands the handler the 1.0 event", async () => {
    const answer = await call(gatewayPort, "shop.skiff.test", "/v1/a/b?x=1&x=2", {
      method: "PUT",
      headers: { "content-type": "text/plain" },
      body: "hello",
    });
    expect(answer.status, answer.body.toString()).toBe(200);
    const event = json(answer);
    expect(event).toMatchObject({
      version: "1.0",
      resource: "/v1/{proxy+}",
      path: "/v1/a/b",
      httpMethod: "PUT",
      queryStringParameters: { x: "2" },
      multiValueQueryStringParameters: { x: ["1", "2"] },
      pathParameters: { proxy: "a/b" },
      body: "hello",
      isBase64Encoded: false,
      requestContext: {
        apiId,
        httpMethod: "PUT",
        resourcePath: "/v1/{proxy+}",
        stage: "$default",
        identity: { sourceIp: "127.0.0.1" },
      },
    });
    expect(event.headers["content-type"]).toBe("text/plain");
    expect(event.multiValueHeaders["content-type"]).toEqual(["text/plain"]);
  });

  it("answers 500 for a 1.0 response without statusCode", async () => {
    const answer = await call(gatewayPort, "shop.skiff.test", "/v1/nostatus");
    expect(answer.status).toBe(500);
    expect(json(answer)).toEqual({ message: "Internal Server Error" });
  });
});

describe("function URLs", () => {
  it("serves <function>.fn.<domain> only while the URL is on", async () => {
    const off = await call(gatewayPort, "echo.fn.skiff.test", "/hello?q=1");
    expect(off.status).toBe(404);
    const on = await api("PUT", "/v1/functions/echo/url", { authType: "NONE" });
    expect(on.status, on.text).toBe(200);
    expect(on.json).toMatchObject({ functionName: "echo", authType: "NONE" });
    expect(on.json.functionUrl).toContain("echo.fn.skiff.test");
    expect((await api("GET", "/v1/functions/echo/url")).json.authType).toBe("NONE");
    await waitFor("the function URL", 10_000, async () =>
      (await call(gatewayPort, "echo.fn.skiff.test", "/")).status === 200 ? true : undefined,
    );
    const event = json(await call(gatewayPort, "echo.fn.skiff.test:8000", "/hello?q=1"));
    expect(event).toMatchObject({
      version: "2.0",
      routeKey: "$default",
      rawPath: "/hello",
      queryStringParameters: { q: "1" },
      requestContext: { domainName: "echo.fn.skiff.test", http: { method: "GET", path: "/hello" } },
    });

    // With SKIFF_TOKEN a bearer token with the deploy scope is needed.
    await api("PUT", "/v1/functions/echo/url", { authType: "SKIFF_TOKEN" });
    await waitFor("the token requirement", 10_000, async () =>
      (await call(gatewayPort, "echo.fn.skiff.test", "/")).status === 403 ? true : undefined,
    );
    const withToken = await call(gatewayPort, "echo.fn.skiff.test", "/", { headers: auth });
    expect(withToken.status).toBe(200);

    expect((await api("DELETE", "/v1/functions/echo/url")).status).toBe(200);
    await waitFor("the URL off", 10_000, async () =>
      (await call(gatewayPort, "echo.fn.skiff.test", "/")).status === 404 ? true : undefined,
    );
    expect((await api("GET", "/v1/functions/echo/url")).status).toBe(404);
    expect((await api("PUT", "/v1/functions/nope/url", { authType: "NONE" })).status).toBe(404);
    expect((await api("PUT", "/v1/functions/echo/url", { authType: "IAM" })).status).toBe(400);
  });
});

describe("gateway-main", () => {
  it("serves the same API from its own process, invoking through its own runtime", async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), "skiff-gwapis-main-"));
    const child = spawn(process.execPath, [gatewayMain], {
      env: {
        PATH: process.env.PATH ?? "",
        DATABASE_URL: stack.databaseUrl,
        REDIS_URL: inject("redisUrl"),
        SKIFF_REDIS_PREFIX: redisPrefix,
        SKIFF_GATEWAY_PORT: String(port),
        SKIFF_DOMAIN: "skiff.test",
        SKIFF_DATA_DIR: dataDir,
        HOST: "127.0.0.1",
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout?.on("data", (chunk) => (output += chunk));
    child.stderr?.on("data", (chunk) => (output += chunk));
    try {
      const answer = await waitFor("gateway-main serving the API", 30_000, async () => {
        const reply = await call(port, "shop.skiff.test", "/items/9?z=1").catch(() => undefined);
        return reply?.status === 200 ? reply : undefined;
      }).catch((error) => {
        throw new Error(`${(error as Error).message}\n${output}`);
      });
      expect(json(answer)).toMatchObject({
        routeKey: "GET /items/{id}",
        pathParameters: { id: "9" },
        queryStringParameters: { z: "1" },
      });
    } finally {
      const exited = new Promise((done) => child.once("exit", done));
      child.kill("SIGTERM");
      const kill = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(kill);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
