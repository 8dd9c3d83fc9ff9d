import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createLogger } from "../../lib/logger.js";
import { call } from "../../test/gateway.js";
import { createTestStack, type TestStack } from "../../test/harness.js";
import { freePort } from "../../test/process.js";
import { type GatewayServer, startGateway } from "../server.js";
import { OpenConnectionsGauge, openConnectionsByApi } from "./services/open-connections.js";

// WebSocket APIs without a function behind them: the /v1/apis rules for them, and two gateway
// servers (as main.ts and gateway-main.ts start them) on one PostgreSQL and Redis, so that
// @connections calls reach a client held by the other one. Functions as targets:
// e2e/gateway-websockets.int.test.ts.
let stack: TestStack;
const gateways: GatewayServer[] = [];
const ports: number[] = [];
let apiId = "";

async function admin(method: string, path: string, body?: unknown, raw?: string) {
  const response = await stack.request(path, {
    method,
    headers: {
      authorization: `Bearer ${stack.adminToken}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined, text };
}

async function gatewayOn(websockets?: {
  idleTimeoutMs?: number;
  maxConnectionMs?: number;
}): Promise<number> {
  const port = await freePort();
  gateways.push(
    await startGateway({
      db: stack.services.db,
      redis: stack.services.redis,
      logger: createLogger("silent"),
      port,
      host: "127.0.0.1",
      domain: "skiff.test",
      ...(websockets ? { websockets } : {}),
    }),
  );
  return port;
}

/** A client of `chat` through the gateway on `port`, with the frames it received. */
async function connect(port: number) {
  const frames: string[] = [];
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`, {
    headers: { host: "chat.skiff.test", "user-agent": "ws-test/1" },
  });
  socket.on("message", (data) => frames.push(data.toString()));
  const closed = new Promise<number>((done) => socket.once("close", (code) => done(code)));
  await new Promise<void>((open, failed) => {
    socket.once("open", () => open());
    socket.once("error", failed);
  });
  return { socket, frames, closed };
}

async function until<T>(what: string, check: () => T | undefined, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not in time`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

/** The connection's id, from the error frame a message that selects no route gets. */
async function connectionIdOf(client: Awaited<ReturnType<typeof connect>>): Promise<string> {
  client.socket.send(JSON.stringify({ action: "nothing" }));
  const frame = await until("the Forbidden frame", () => client.frames.shift());
  const parsed = JSON.parse(frame);
  expect(parsed).toMatchObject({ message: "Forbidden" });
  expect(parsed.requestId).toEqual(expect.any(String));
  return parsed.connectionId;
}

/** Waits until the gateway on `port` knows the API: a plain request gets its 426. */
async function served(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await call(port, "chat.skiff.test", "/")).status !== 426) {
    if (Date.now() > deadline) throw new Error("the API did not reach the gateway");
    await new Promise((done) => setTimeout(done, 50));
  }
}

beforeAll(async () => {
  stack = await createTestStack();
  ports.push(await gatewayOn(), await gatewayOn());
  const created = await admin("POST", "/v1/apis", { name: "chat", protocolType: "WEBSOCKET" });
  expect(created.status, created.text).toBe(201);
  apiId = created.json.id;
  for (const port of ports) await served(port);
}, 60_000);

afterAll(async () => {
  for (const gateway of gateways) await gateway.stop();
  await stack?.close();
});

describe("WebSocket APIs on /v1/apis", () => {
  it("defaults the selection expression and keeps HTTP APIs' rules apart", async () => {
    const got = await admin("GET", `/v1/apis/${apiId}`);
    expect(got.json).toMatchObject({
      protocolType: "WEBSOCKET",
      routeSelectionExpression: "$request.body.action",
    });
    const http = await admin("POST", "/v1/apis", { name: "plain" });
    expect(http.json).toMatchObject({ protocolType: "HTTP", routeSelectionExpression: null });

    for (const [api, routeKey, target] of [
      ["chat", "GET /items", { function: "f" }],
      ["chat", "$connect", { service: "web" }],
      ["chat", "$connect", { url: "http://example.com" }],
      ["plain", "$connect", { function: "f" }],
      ["plain", "sendMessage", { function: "f" }],
    ] as const) {
      const refused = await admin("POST", `/v1/apis/${api}/routes`, { routeKey, target });
      expect(refused.status, `${api} ${routeKey}: ${refused.text}`).toBe(400);
      expect(refused.json.error.code).toBe("ValidationError");
    }
    const ok = await admin("POST", "/v1/apis/chat/routes", {
      routeKey: "sendMessage",
      target: { function: "f" },
    });
    expect(ok.status, ok.text).toBe(201);
    // A route's key cannot be changed to an HTTP one on a WebSocket API either.
    const patched = await admin("PATCH", `/v1/apis/chat/routes/${ok.json.id}`, {
      routeKey: "GET /x",
    });
    expect(patched.status, patched.text).toBe(400);
    expect((await admin("DELETE", `/v1/apis/chat/routes/${ok.json.id}`)).status).toBe(200);

    const badExpression = await admin("POST", "/v1/apis", {
      name: "chat2",
      protocolType: "WEBSOCKET",
      routeSelectionExpression: "$request.header.x",
    });
    expect(badExpression.status, badExpression.text).toBe(400);
    const onHttp = await admin("POST", "/v1/apis", {
      name: "chat3",
      routeSelectionExpression: "$request.body.type",
    });
    expect(onHttp.status, onHttp.text).toBe(400);
  });
});

describe("@connections across two gateways", () => {
  it("posts, describes and closes a client held by the other gateway; 410 after", async () => {
    const [held, other] = ports as [number, number];
    const client = await connect(held);
    const id = await connectionIdOf(client);

    // From the REST API, which holds no sockets: through Redis to the holder.
    const posted = await admin("POST", `/v1/apis/chat/connections/${id}`, undefined, "from rest");
    expect(posted.status, posted.text).toBe(204);
    expect(await until("the REST post", () => client.frames.shift())).toBe("from rest");

    // From the other gateway, on the API's host, with AWS's stage segment and without it.
    const auth = { authorization: `Bearer ${stack.adminToken}` };
    const started = Date.now();
    const viaOther = await call(other, "chat.skiff.test", `/production/@connections/${id}`, {
      method: "POST",
      headers: auth,
      body: '{"hello":1}',
    });
    expect(viaOther.status, viaOther.body.toString()).toBe(200);
    expect(await until("the gateway post", () => client.frames.shift())).toBe('{"hello":1}');
    expect(Date.now() - started).toBeLessThan(1_000);

    const unsigned = await call(other, "chat.skiff.test", `/@connections/${id}`, {
      method: "POST",
      body: "x",
    });
    expect(unsigned.status).toBe(403);

    const described = await call(other, "chat.skiff.test", `/@connections/${id}`, {
      headers: auth,
    });
    expect(described.status, described.body.toString()).toBe(200);
    const info = JSON.parse(described.body.toString());
    expect(info).toMatchObject({ identity: { sourceIp: "127.0.0.1", userAgent: "ws-test/1" } });
    expect(Date.parse(info.connectedAt)).toBeLessThanOrEqual(Date.parse(info.lastActiveAt));
    const restInfo = await admin("GET", `/v1/apis/chat/connections/${id}`);
    expect(restInfo.status, restInfo.text).toBe(200);
    expect(restInfo.json.connectedAt).toBe(info.connectedAt);

    const removed = await admin("DELETE", `/v1/apis/chat/connections/${id}`);
    expect(removed.status, removed.text).toBe(204);
    expect(await client.closed).toBe(1000);

    const gone = await admin("POST", `/v1/apis/chat/connections/${id}`, undefined, "late");
    expect(gone.status, gone.text).toBe(410);
    expect(gone.json.error.code).toBe("Gone");
    const goneHere = await call(other, "chat.skiff.test", `/@connections/${id}`, {
      headers: auth,
    });
    expect(goneHere.status).toBe(410);
    expect(goneHere.headers["x-amzn-errortype"]).toBe("GoneException");
    // Another API cannot reach a connection by its id.
    expect((await admin("GET", `/v1/apis/plain/connections/${id}`)).status).toBe(404);
  });

  it("closes a connection idle past the idle timeout", async () => {
    const port = await gatewayOn({ idleTimeoutMs: 300 });
    await served(port);
    const client = await connect(port);
    const started = Date.now();
    expect(await client.closed).toBe(1001);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("closes a busy connection at its maximum duration", async () => {
    const port = await gatewayOn({ idleTimeoutMs: 400, maxConnectionMs: 1_000 });
    await served(port);
    const client = await connect(port);
    const started = Date.now();
    // A message every 100 ms keeps it from idling out.
    const chatter = setInterval(() => client.socket.send('{"action":"x"}'), 100);
    const code = await client.closed;
    clearInterval(chatter);
    expect(code).toBe(1001);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("answers a plain request 426 and a non-WebSocket upgrade 400", async () => {
    const port = ports[0] as number;
    const plain = await call(port, "chat.skiff.test", "/");
    expect(plain.status).toBe(426);
    const h2c = await call(port, "chat.skiff.test", "/", {
      headers: { connection: "upgrade", upgrade: "h2c" },
    });
    expect(h2c.status).toBe(400);
  });
});

describe("keys and authorizers on a WebSocket API's routes", () => {
  it("takes them on $connect only, and REQUEST authorizers only (400 otherwise)", async () => {
    const jwt = await admin("POST", "/v1/apis/chat/authorizers", {
      name: "tokens",
      type: "JWT",
      jwt: {
        issuer: "https://idp.skiff.test",
        audience: ["chat"],
        jwksUri: "https://idp.skiff.test/keys",
      },
    });
    expect(jwt.status, jwt.text).toBe(400);
    expect(jwt.text).toContain("JWT authorizers are for HTTP APIs");
    // AWS's WebSocket form of an identity source is not an HTTP API's.
    const onHttp = await admin("POST", "/v1/apis/plain/authorizers", {
      name: "guard",
      type: "REQUEST",
      function: "f",
      identitySource: ["route.request.header.Auth"],
    });
    expect(onHttp.status, onHttp.text).toBe(400);
    expect(onHttp.text).toContain("route.request.header.Auth");

    const fn = "ws-rules-fn";
    for (const [routeKey, extra, message] of [
      ["sendMessage", { apiKeyRequired: true }, "API keys on $connect only"],
      ["$default", { authorizationType: "CUSTOM", authorizerId: "x" }, "on $connect only"],
      ["$connect", { authorizationType: "JWT", authorizerId: "x" }, "JWT authorizers are for HTTP"],
    ] as const) {
      const refused = await admin("POST", "/v1/apis/chat/routes", {
        routeKey,
        target: { function: fn },
        ...extra,
      });
      expect(refused.status, `${routeKey}: ${refused.text}`).toBe(400);
      expect(refused.json.error.code).toBe("ValidationError");
      expect(refused.json.error.message).toContain(message);
    }
    const connect = await admin("POST", "/v1/apis/chat/routes", {
      routeKey: "$connect",
      target: { function: fn },
      apiKeyRequired: true,
    });
    expect(connect.status, connect.text).toBe(201);
    // Renaming it away from $connect would leave a key requirement no message can meet.
    const renamed = await admin("PATCH", `/v1/apis/chat/routes/${connect.json.id}`, {
      routeKey: "sendMessage",
    });
    expect(renamed.status, renamed.text).toBe(400);
    expect((await admin("DELETE", `/v1/apis/chat/routes/${connect.json.id}`)).status).toBe(200);
  });
});

describe("the open connections gauge", () => {
  it("sums every gateway's clients of an API at /v1/metrics", async () => {
    const series = `skiff_gateway_websocket_connections{api="${apiId}"}`;
    const gauge = async () => {
      const response = await stack.request("/v1/metrics", {
        headers: { authorization: `Bearer ${stack.adminToken}` },
      });
      const text = await response.text();
      const line = text.split("\n").find((l) => l.startsWith(`${series} `));
      return Number(line?.split(" ")[1]);
    };
    expect(await untilAsync(gauge, 0)).toBe(0);
    const clients = [await connect(ports[0] as number), await connect(ports[1] as number)];
    expect(await untilAsync(gauge, 2)).toBe(2);
    clients[0]?.socket.close();
    expect(await untilAsync(gauge, 1)).toBe(1);
    clients[1]?.socket.close();
    expect(await untilAsync(gauge, 0)).toBe(0);
  });

  it("drops the count of a replica that stopped refreshing it, once its TTL passes", async () => {
    const redis = stack.services.redis;
    const logger = createLogger("silent");
    // A replica that dies: it published its counts once and never again.
    const dead = new OpenConnectionsGauge({ redis, logger, replicaId: "dead", ttlSeconds: 1 });
    const alive = new OpenConnectionsGauge({ redis, logger, replicaId: "alive", ttlSeconds: 1 });
    alive.start();
    dead.opened("gauge-api");
    alive.opened("gauge-api");
    expect(
      await untilAsync(async () => (await openConnectionsByApi(redis)).get("gauge-api"), 2),
    ).toBe(2);
    expect(
      await untilAsync(async () => (await openConnectionsByApi(redis)).get("gauge-api"), 1, 5_000),
    ).toBe(1);
    await alive.stop();
    expect((await openConnectionsByApi(redis)).get("gauge-api")).toBeUndefined();
  });
});

/** Polls `read` until it gives `wanted`; then that, else the last value read. */
async function untilAsync<T>(read: () => Promise<T>, wanted: T, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (value === wanted || Date.now() > deadline) return value;
    await new Promise((done) => setTimeout(done, 50));
  }
}
