import { randomBytes } from "node:crypto";
import { zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { freePort } from "../lib/embedded-redis.js";
import { type AllInOne, startAllInOne } from "../test/all-in-one.js";
import { call } from "../test/gateway.js";
import { seriesOf } from "../test/metrics.js";
import { waitFor } from "../test/wait.js";

// Who may open a WebSocket, and what the gateway shows of it: API keys, a function authorizer
// and a throttle on $connect, through the all-in-one's gateway in front of one real node
// function (skiff/lambda:nodejs24.x) that is the routes' target and the authorizer; the open
// connections gauge at /v1/metrics; a function URL request in the access log and the metrics.
const adminToken = "e2e-gateway-ws-access-token-012345";
const runId = randomBytes(4).toString("hex");
const auth = { authorization: `Bearer ${adminToken}` };

let stack: AllInOne;
let gatewayPort = 0;
let keyValue = "";
let keyId = "";
const apiIds: Record<string, string> = {};

/**
 * The authorizer (type REQUEST with a methodArn) allows any token but "mallory". $connect lets
 * everyone in but `?reveal=1`, whom it refuses with its own event's requestContext as the body
 * (the only way a client sees the $connect event). Messages get their requestContext back.
 */
const handler = `exports.handler = async (event) => {
  if (event.type === "REQUEST" && event.methodArn) {
    const token = event.queryStringParameters?.token;
    return { isAuthorized: token !== "mallory",
      context: { user: token, methodArn: event.methodArn, eventType: event.requestContext.eventType } };
  }
  const ctx = event.requestContext;
  if (ctx.eventType === "CONNECT")
    return event.queryStringParameters?.reveal ? { statusCode: 400, body: JSON.stringify(ctx) } : {};
  if (ctx.eventType === "DISCONNECT") return {};
  if (ctx.eventType === "MESSAGE") return { statusCode: 200, body: JSON.stringify(ctx) };
  return { statusCode: 200, body: "url:" + event.rawPath };
};`;

const api = (method: string, path: string, body?: unknown) => stack.call(method, path, body);

/** Opens a client of API `name`: its handshake's status (101 when open) and refusal body. */
function connect(name: string, query = "", headers: Record<string, string> = {}) {
  const frames: string[] = [];
  const socket = new WebSocket(`ws://127.0.0.1:${gatewayPort}/${query}`, {
    headers: { host: `${name}.skiff.test`, ...headers },
  });
  socket.on("message", (data) => frames.push(data.toString()));
  const closed = new Promise<void>((done) => socket.once("close", () => done()));
  const opened = new Promise<{ status: number; body: string; headers: Record<string, unknown> }>(
    (done, failed) => {
      socket.once("open", () => done({ status: 101, body: "", headers: {} }));
      socket.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk));
        res.on("end", () => {
          done({ status: res.statusCode ?? 0, body, headers: res.headers });
          socket.terminate();
        });
      });
      socket.once("error", failed);
    },
  );
  const next = () => waitFor("a frame", 30_000, async () => frames.shift());
  return { socket, closed, opened, next };
}

/** GET /v1/metrics as a map of series to value. */
async function metrics(): Promise<Map<string, number>> {
  const response = await fetch(`${stack.skiff.baseUrl}/v1/metrics`, { headers: auth });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return seriesOf(text);
}

beforeAll(async () => {
  gatewayPort = await freePort();
  stack = await startAllInOne("gwwsacc", adminToken, {
    SKIFF_GATEWAY_PORT: String(gatewayPort),
    SKIFF_DOMAIN: "skiff.test",
    SKIFF_REDIS_PREFIX: `test:gwwsacc-${runId}:`,
    // The access log is at info.
    LOG_LEVEL: "info",
  });
  const zip = Buffer.from(zipSync({ "index.js": Buffer.from(handler) })).toString("base64");
  const fn = await api("POST", "/v1/functions", {
    name: "wsguard",
    runtime: "nodejs24.x",
    handler: "index.handler",
    memory: 128,
    code: { zipBase64: zip },
  });
  expect(fn.status, fn.text).toBe(201);
  const target = { function: "wsguard" };

  // keyed: $connect needs an API key of a plan of the API.
  const keyed = await api("POST", "/v1/apis", { name: "keyed", protocolType: "WEBSOCKET" });
  expect(keyed.status, keyed.text).toBe(201);
  apiIds.keyed = keyed.json.id;
  for (const route of [
    { routeKey: "$connect", target, apiKeyRequired: true },
    { routeKey: "$default", target },
    { routeKey: "limited", target, throttle: { rateLimit: 0.01, burstLimit: 1 } },
  ]) {
    const created = await api("POST", "/v1/apis/keyed/routes", route);
    expect(created.status, created.text).toBe(201);
  }
  const key = await api("POST", "/v1/api-keys", { name: "ws-partner" });
  expect(key.status, key.text).toBe(201);
  keyValue = key.json.value;
  keyId = key.json.id;
  const plan = await api("POST", "/v1/usage-plans", { name: "ws", apiIds: [apiIds.keyed] });
  expect(plan.status, plan.text).toBe(201);
  const attached = await api("POST", `/v1/usage-plans/${plan.json.id}/keys`, { keyId });
  expect(attached.status, attached.text).toBeLessThan(300);

  // guarded: a function authorizer on $connect, the token in the query string.
  const guarded = await api("POST", "/v1/apis", { name: "guarded", protocolType: "WEBSOCKET" });
  expect(guarded.status, guarded.text).toBe(201);
  apiIds.guarded = guarded.json.id;
  const authorizer = await api("POST", "/v1/apis/guarded/authorizers", {
    name: "guard",
    type: "REQUEST",
    function: "wsguard",
    identitySource: ["route.request.querystring.token"],
    resultTtlInSeconds: 0,
  });
  expect(authorizer.status, authorizer.text).toBe(201);
  for (const route of [
    {
      routeKey: "$connect",
      target,
      authorizationType: "CUSTOM",
      authorizerId: authorizer.json.id,
    },
    { routeKey: "$default", target },
  ]) {
    const created = await api("POST", "/v1/apis/guarded/routes", route);
    expect(created.status, created.text).toBe(201);
  }

  // tight: no $connect route, an API throttle of one connection now and then.
  const tight = await api("POST", "/v1/apis", {
    name: "tight",
    protocolType: "WEBSOCKET",
    throttle: { rateLimit: 0.01, burstLimit: 1 },
  });
  expect(tight.status, tight.text).toBe(201);
  apiIds.tight = tight.json.id;

  const url = await api("PUT", "/v1/functions/wsguard/url", { authType: "NONE" });
  expect(url.status, url.text).toBeLessThan(300);

  // The gateway knows every API (a plain request to its host answers 426) and the URL.
  for (const name of ["keyed", "guarded", "tight"])
    await waitFor(`API ${name} on the gateway`, 30_000, async () => {
      const answer = await call(gatewayPort, `${name}.skiff.test`, "/").catch(() => undefined);
      return answer?.status === 426 ? true : undefined;
    });
  // The plan and its key reach the gateway's key table too (it reloads on a change).
  await waitFor("the key admitted", 30_000, async () => {
    const client = connect("keyed", "", { "x-api-key": keyValue });
    const { status } = await client.opened;
    client.socket.close();
    return status === 101 ? true : undefined;
  });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

describe("API keys on $connect", () => {
  it("refuses a handshake without a key or with an unknown one (403), admits a plan's key", async () => {
    const without = await connect("keyed").opened;
    expect(without.status).toBe(403);
    expect(JSON.parse(without.body)).toEqual({ message: "Forbidden" });
    const unknown = await connect("keyed", "", { "x-api-key": "not-a-key-of-this-install-0000" })
      .opened;
    expect(unknown.status).toBe(403);

    const client = connect("keyed", "", { "x-api-key": keyValue });
    expect((await client.opened).status).toBe(101);
    // Messages after connect are not re-authorized; their events carry the key that connected.
    client.socket.send("hello");
    const context = JSON.parse(await client.next());
    expect(context).toMatchObject({
      eventType: "MESSAGE",
      routeKey: "$default",
      identity: { apiKey: keyValue, apiKeyId: keyId, sourceIp: "127.0.0.1" },
    });
    // A route's throttle counts messages: one token, then API Gateway's error frame.
    client.socket.send(JSON.stringify({ action: "limited" }));
    expect(JSON.parse(await client.next())).toMatchObject({ routeKey: "limited" });
    client.socket.send(JSON.stringify({ action: "limited" }));
    expect(JSON.parse(await client.next())).toMatchObject({ message: "Too Many Requests" });
    client.socket.close();
  }, 60_000);

  it("answers 429 to a connection over the API's throttle", async () => {
    const first = connect("tight");
    expect((await first.opened).status).toBe(101);
    const second = await connect("tight").opened;
    expect(second.status).toBe(429);
    expect(JSON.parse(second.body)).toEqual({ message: "Too Many Requests" });
    expect(second.headers["retry-after"]).toBeDefined();
    first.socket.close();
  }, 60_000);
});

describe("a function authorizer on $connect", () => {
  it("answers 401 without the identity source and 403 when the function refuses", async () => {
    const missing = await connect("guarded").opened;
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body)).toEqual({ message: "Unauthorized" });
    const refused = await connect("guarded", "?token=mallory").opened;
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toEqual({ message: "Forbidden" });
  }, 60_000);

  it("admits a client and gives the authorizer's context to $connect and to messages", async () => {
    // $connect's own event, which this $connect shows by refusing ?reveal=1 with it.
    const revealed = await connect("guarded", "?token=alice&reveal=1").opened;
    expect(revealed.status, revealed.body).toBe(400);
    const connectContext = JSON.parse(revealed.body);
    expect(connectContext).toMatchObject({
      eventType: "CONNECT",
      routeKey: "$connect",
      authorizer: { user: "alice", eventType: "CONNECT" },
    });
    expect(connectContext.authorizer.methodArn).toMatch(
      new RegExp(`:${apiIds.guarded}/\\$default/\\$connect$`),
    );

    const client = connect("guarded", "?token=bob");
    expect((await client.opened).status).toBe(101);
    client.socket.send("hi");
    const context = JSON.parse(await client.next());
    expect(context).toMatchObject({ eventType: "MESSAGE", authorizer: { user: "bob" } });
    expect(context.identity.apiKeyId).toBeUndefined();
    client.socket.close();
  }, 60_000);
});

describe("the open connections gauge", () => {
  it("goes up when clients connect and down when they close", async () => {
    const series = `skiff_gateway_websocket_connections{api="${apiIds.keyed}"}`;
    await waitFor("no client of keyed", 10_000, async () =>
      (await metrics()).get(series) === 0 ? true : undefined,
    );
    const clients = [0, 1].map(() => connect("keyed", "", { "x-api-key": keyValue }));
    for (const client of clients) expect((await client.opened).status).toBe(101);
    await waitFor("two clients of keyed", 10_000, async () =>
      (await metrics()).get(series) === 2 ? true : undefined,
    );
    clients[0]?.socket.close();
    await clients[0]?.closed;
    await waitFor("one client of keyed", 10_000, async () =>
      (await metrics()).get(series) === 1 ? true : undefined,
    );
    clients[1]?.socket.close();
    await waitFor("no client of keyed again", 10_000, async () =>
      (await metrics()).get(series) === 0 ? true : undefined,
    );
  }, 60_000);
});

describe("function URLs observed", () => {
  it("logs a function URL request and counts it as api fn:<function>, route $default", async () => {
    const answer = await waitFor("the function URL", 30_000, async () => {
      const got = await call(gatewayPort, "wsguard.fn.skiff.test", "/observed?secret=1");
      return got.status === 200 ? got : undefined;
    });
    expect(answer.body.toString()).toBe("url:/observed");
    const line = await waitFor("the access log line", 10_000, async () =>
      stack.skiff
        .output()
        .split("\n")
        .filter((l) => l.includes('"log":"access"') && l.includes("/observed"))
        .map((l) => JSON.parse(l))
        .at(-1),
    );
    expect(line).toMatchObject({
      apiId: "fn:wsguard",
      routeKey: "$default",
      method: "GET",
      path: "/observed",
      status: 200,
      apiKeyId: null,
    });
    expect(line.integrationLatencyMs).toEqual(expect.any(Number));
    const labels = `api="fn:wsguard",route="$default"`;
    await waitFor("the function URL's request count", 10_000, async () =>
      ((await metrics()).get(`skiff_gateway_requests_total{${labels}}`) ?? 0) >= 1
        ? true
        : undefined,
    );
    const after = await metrics();
    expect(after.get(`skiff_gateway_latency_seconds_count{${labels}}`)).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
