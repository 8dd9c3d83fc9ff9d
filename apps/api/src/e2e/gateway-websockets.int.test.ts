import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import WebSocket from "ws";
import { freePort } from "../lib/embedded-redis.js";
import { type AllInOne, startAllInOne } from "../test/all-in-one.js";
import { call } from "../test/gateway.js";
import { waitFor } from "../test/wait.js";

// A WebSocket API end to end: the all-in-one's gateway invokes a real node function (runtime
// image skiff/lambda:nodejs24.x on the local fargate node) for $connect and messages, and a
// gateway-main process on the same Redis posts to a client the all-in-one holds.
const adminToken = "e2e-gateway-ws-token-0123456789abcd";
const runId = randomBytes(4).toString("hex");
const redisPrefix = `test:gwws-${runId}:`;
const gatewayMain = fileURLToPath(new URL("../../dist/gateway-main.js", import.meta.url));
const auth = { authorization: `Bearer ${adminToken}` };

let stack: AllInOne;
let gatewayPort = 0;
let otherPort = 0;
let other: ChildProcess | undefined;
let otherDir = "";
let otherOutput = "";

/** $connect refuses ?deny; the route "echo" answers its event; $default prefixes the body. */
const handler = `exports.handler = async (event) => {
  const ctx = event.requestContext;
  if (ctx.eventType === "CONNECT")
    return event.queryStringParameters?.deny ? { statusCode: 401, body: "denied" } : { statusCode: 200 };
  if (ctx.eventType === "DISCONNECT") return {};
  if (ctx.routeKey === "echo") return { statusCode: 200, body: JSON.stringify(event) };
  return { statusCode: 200, body: "default:" + event.body };
};`;

async function api(method: string, path: string, body?: unknown, raw?: string) {
  const response = await fetch(`${stack.skiff.baseUrl}${path}`, {
    method,
    headers: { ...auth, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined, text };
}

/** Opens a client of `chat` on the all-in-one's gateway: its frames, or the refusal's status. */
function connect(query = "") {
  const frames: string[] = [];
  const socket = new WebSocket(`ws://127.0.0.1:${gatewayPort}/${query}`, {
    headers: { host: "chat.skiff.test" },
  });
  socket.on("message", (data) => frames.push(data.toString()));
  const closed = new Promise<number>((done) => socket.once("close", (code) => done(code)));
  const opened = new Promise<number>((done, failed) => {
    socket.once("open", () => done(101));
    socket.once("unexpected-response", (_req, res) => {
      done(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.once("error", failed);
  });
  const next = () => waitFor("a frame", 30_000, async () => frames.shift());
  return { socket, frames, closed, opened, next };
}

beforeAll(async () => {
  gatewayPort = await freePort();
  stack = await startAllInOne("gwws", adminToken, {
    SKIFF_GATEWAY_PORT: String(gatewayPort),
    SKIFF_DOMAIN: "skiff.test",
    SKIFF_REDIS_PREFIX: redisPrefix,
  });
  const zip = Buffer.from(zipSync({ "index.js": Buffer.from(handler) })).toString("base64");
  const fn = await api("POST", "/v1/functions", {
    name: "chat-fn",
    runtime: "nodejs24.x",
    handler: "index.handler",
    memory: 128,
    code: { zipBase64: zip },
  });
  expect(fn.status, fn.text).toBe(201);
  const created = await api("POST", "/v1/apis", { name: "chat", protocolType: "WEBSOCKET" });
  expect(created.status, created.text).toBe(201);
  for (const routeKey of ["$connect", "$disconnect", "$default", "echo"]) {
    const route = await api("POST", "/v1/apis/chat/routes", {
      routeKey,
      target: { function: "chat-fn" },
    });
    expect(route.status, route.text).toBe(201);
  }
  otherPort = await freePort();
  otherDir = mkdtempSync(join(tmpdir(), "skiff-gwws-main-"));
  other = spawn(process.execPath, [gatewayMain], {
    env: {
      PATH: process.env.PATH ?? "",
      DATABASE_URL: stack.databaseUrl,
      REDIS_URL: inject("redisUrl"),
      SKIFF_REDIS_PREFIX: redisPrefix,
      SKIFF_GATEWAY_PORT: String(otherPort),
      SKIFF_DOMAIN: "skiff.test",
      SKIFF_DATA_DIR: otherDir,
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  other.stdout?.on("data", (chunk) => (otherOutput += chunk));
  other.stderr?.on("data", (chunk) => (otherOutput += chunk));
  // Both gateways know the API once a plain request to its host answers 426.
  for (const port of [gatewayPort, otherPort]) {
    await waitFor("the API on the gateway", 30_000, async () => {
      const answer = await call(port, "chat.skiff.test", "/").catch(() => undefined);
      return answer?.status === 426 ? true : undefined;
    }).catch((error) => {
      throw new Error(`${(error as Error).message}\n${otherOutput}`);
    });
  }
}, 120_000);

afterAll(async () => {
  if (other) {
    const exited = new Promise((done) => other?.once("exit", done));
    other.kill("SIGTERM");
    const kill = setTimeout(() => other?.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(kill);
  }
  if (otherDir) rmSync(otherDir, { recursive: true, force: true });
  await stack?.stop();
});

describe("a WebSocket API to a function", () => {
  it("lets $connect refuse a client with its status", async () => {
    const refused = connect("?deny=1");
    expect(await refused.opened).toBe(401);
  }, 60_000);

  it("routes messages by action and $default, and sends the function's body back", async () => {
    const client = connect("?room=1");
    expect(await client.opened).toBe(101);
    client.socket.send(JSON.stringify({ action: "echo", text: "hi" }));
    const event = JSON.parse(await client.next());
    expect(event).toMatchObject({
      body: '{"action":"echo","text":"hi"}',
      isBase64Encoded: false,
      requestContext: {
        routeKey: "echo",
        eventType: "MESSAGE",
        messageDirection: "IN",
        stage: "$default",
        domainName: "chat.skiff.test",
        identity: { sourceIp: "127.0.0.1" },
      },
    });
    const connectionId: string = event.requestContext.connectionId;
    expect(connectionId).toMatch(/^[A-Za-z0-9_-]{16}$/);
    client.socket.send("not json");
    expect(await client.next()).toBe("default:not json");
    client.socket.send(JSON.stringify({ action: "unknown" }));
    expect(await client.next()).toBe('default:{"action":"unknown"}');

    // @connections from the REST API and from the other gateway process reach the client.
    const posted = await api(
      "POST",
      `/v1/apis/chat/connections/${connectionId}`,
      undefined,
      "rest",
    );
    expect(posted.status, posted.text).toBe(204);
    expect(await client.next()).toBe("rest");
    const viaOther = await call(otherPort, "chat.skiff.test", `/@connections/${connectionId}`, {
      method: "POST",
      headers: auth,
      body: "from the other gateway",
    });
    expect(viaOther.status, viaOther.body.toString()).toBe(200);
    expect(await client.next()).toBe("from the other gateway");

    const info = await api("GET", `/v1/apis/chat/connections/${connectionId}`);
    expect(info.status, info.text).toBe(200);
    expect(info.json.identity.sourceIp).toBe("127.0.0.1");
    const closed = await call(
      otherPort,
      "chat.skiff.test",
      `/$default/@connections/${connectionId}`,
      {
        method: "DELETE",
        headers: auth,
      },
    );
    expect(closed.status).toBe(204);
    expect(await client.closed).toBe(1000);
    const gone = await api("POST", `/v1/apis/chat/connections/${connectionId}`, undefined, "x");
    expect(gone.status, gone.text).toBe(410);
  }, 90_000);
});
