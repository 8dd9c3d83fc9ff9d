import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from "node:net";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { createLogger } from "../lib/logger.js";
import { call, listen, type ServedGateway, serveGateway } from "../test/gateway.js";
import { waitFor } from "../test/wait.js";
import type { GatewaySettings } from "./proxy.js";
import type { Target } from "./targets.js";

// The data plane against real targets: a node HTTP server in a container for bytes (gzip, 50 MB
// each way), and servers in this process where a behaviour needs precise control (a reset after
// the request was read, a stall before answering).
const run = promisify(execFile);
const runId = randomBytes(4).toString("hex");
const containerName = `skiff-test-gwplane-${runId}`;
const servers: (Server | TcpServer)[] = [];
const gateways: ServedGateway[] = [];
const services = new Map<string, Target[]>();
let containerUrl = "";

// The container's server: a gzip body, a 50 MB download and an upload sink that counts bytes.
const containerScript = `
const http = require("http"), zlib = require("zlib");
const gz = zlib.gzipSync("hello gzip ".repeat(200));
http.createServer((req, res) => {
  if (req.url === "/gzip") {
    res.writeHead(200, { "content-encoding": "gzip", "content-type": "text/plain", "content-length": gz.length });
    return res.end(gz);
  }
  if (req.url.startsWith("/download")) {
    const total = Number(req.url.split("=")[1] ?? 50) * 1024 * 1024, chunk = Buffer.alloc(64 * 1024, 97);
    let sent = 0;
    res.writeHead(200, { "content-length": total });
    const more = () => {
      while (sent < total) { sent += chunk.length; if (!res.write(chunk)) return res.once("drain", more); }
      res.end();
    };
    return more();
  }
  let n = 0;
  req.on("data", (c) => { n += c.length; });
  req.on("end", () => res.end(String(n)));
}).listen(8080);
`;

async function gatewayWith(settings: Partial<GatewaySettings> = {}) {
  const served = await serveGateway({
    targets: { get: (service) => services.get(service) },
    domain: "skiff.test",
    logger: createLogger("silent"),
    settings,
  });
  gateways.push(served);
  return served;
}

async function httpTarget(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  return `http://127.0.0.1:${await listen(server)}`;
}

/** A target that reads a whole request (headers and Content-Length body), then resets. */
async function resettingTarget(arrivals: { count: number }): Promise<string> {
  const server = createTcpServer((socket: Socket) => {
    let data = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const end = data.indexOf("\r\n\r\n");
      if (end === -1) return;
      const length = Number(
        /content-length: *(\d+)/i.exec(data.subarray(0, end).toString())?.[1] ?? 0,
      );
      if (data.length < end + 4 + length) return;
      arrivals.count++;
      socket.resetAndDestroy();
    });
    socket.on("error", () => {});
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
}

beforeAll(async () => {
  await run("docker", [
    "run",
    "-d",
    "--rm",
    "--name",
    containerName,
    "--label",
    `skiff-test=gwplane-${runId}`,
    "-p",
    "127.0.0.1::8080",
    "node:24-bookworm-slim",
    "node",
    "-e",
    containerScript,
  ]);
  const mapped = (await run("docker", ["port", containerName, "8080/tcp"])).stdout
    .trim()
    .split("\n")[0];
  containerUrl = `http://${mapped}`;
  services.set("box", [{ taskId: "box", url: containerUrl }]);
  await waitFor("the container's server", 20_000, async () => {
    const answer = await call(Number(mapped?.split(":")[1]), "x", "/").catch(() => undefined);
    return answer?.status === 200 ? true : undefined;
  });
}, 60_000);

afterAll(async () => {
  for (const served of gateways) await served.close();
  for (const server of servers) server.close();
  await run("docker", ["rm", "-f", containerName]).catch(() => {});
});

describe("gateway data plane", () => {
  it("passes a gzip body through as the exact bytes, labelled gzip", async () => {
    const { port } = await gatewayWith();
    const direct = await call(Number(new URL(containerUrl).port), "x", "/gzip", {
      headers: { "accept-encoding": "gzip" },
    });
    const answer = await call(port, "box.skiff.test", "/gzip", {
      headers: { "accept-encoding": "gzip" },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers["content-encoding"]).toBe("gzip");
    expect(answer.headers["content-length"]).toBe(String(direct.body.length));
    expect(answer.body.equals(direct.body)).toBe(true);
    expect(gunzipSync(answer.body).toString()).toBe("hello gzip ".repeat(200));
  });

  it("never sends a POST twice after a reset (502), and retries a GET on the next target", async () => {
    const { port } = await gatewayWith();
    const arrivals = { count: 0 };
    services.set("resets", [
      { taskId: "r1", url: await resettingTarget(arrivals) },
      { taskId: "r2", url: await resettingTarget(arrivals) },
    ]);
    const post = await call(port, "resets.skiff.test", "/orders", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"pay":100}',
    });
    expect(post.status, post.body.toString()).toBe(502);
    expect(JSON.parse(post.body.toString()).error.code).toBe("BadGateway");
    expect(arrivals.count).toBe(1);

    const resets = { count: 0 };
    services.set("mixed", [
      { taskId: "r", url: await resettingTarget(resets) },
      { taskId: "ok", url: await httpTarget((_req, res) => res.end("ok")) },
    ]);
    const get = await call(port, "mixed.skiff.test", "/");
    expect(get.status).toBe(200);
    expect(get.body.toString()).toBe("ok");
    expect(resets.count).toBe(1);
    // Passive health: after 3 resets in a row the target is left out (round robin would have
    // tried it first in 5 of these 10 requests).
    for (let i = 0; i < 9; i++) {
      expect((await call(port, "mixed.skiff.test", "/")).status).toBe(200);
    }
    expect(resets.count).toBe(3);
  });

  it("skips a refused target without a failed request", async () => {
    const { port } = await gatewayWith();
    services.set("refused", [
      { taskId: "dead", url: "http://127.0.0.1:1" },
      { taskId: "alive", url: await httpTarget((_req, res) => res.end("alive")) },
    ]);
    const answers = await Promise.all(
      [1, 2, 3, 4, 5].map(() => call(port, "refused.skiff.test", "/")),
    );
    expect(answers.map((a) => `${a.status} ${a.body}`)).toEqual(Array(5).fill("200 alive"));
  });

  it("answers 504 when a target does not answer within the response timeout", async () => {
    const { port } = await gatewayWith({ responseTimeoutMs: 300 });
    let closed = false;
    services.set("stall", [
      {
        taskId: "stall",
        url: await httpTarget((req) => req.once("close", () => (closed = true))),
      },
    ]);
    const started = Date.now();
    const answer = await call(port, "stall.skiff.test", "/");
    expect(answer.status).toBe(504);
    expect(JSON.parse(answer.body.toString()).error.code).toBe("GatewayTimeout");
    expect(Date.now() - started).toBeLessThan(2_000);
    // The stalled upstream request was given up, not left open.
    await expect.poll(() => closed).toBe(true);
  });

  it("answers 413 past the body limit, by Content-Length and while streaming", async () => {
    const { port } = await gatewayWith({ maxBodyBytes: 1024 * 1024 });
    const declared = await call(port, "box.skiff.test", "/upload", {
      method: "POST",
      body: Buffer.alloc(2 * 1024 * 1024),
    });
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body.toString()).error.code).toBe("PayloadTooLarge");
    // No Content-Length: chunked, counted as it streams.
    const streamed = await call(port, "box.skiff.test", "/upload", {
      method: "POST",
      body: Readable.from(Array.from({ length: 32 }, () => Buffer.alloc(64 * 1024))),
    });
    expect(streamed.status).toBe(413);
    const within = await call(port, "box.skiff.test", "/upload", {
      method: "POST",
      body: Readable.from(Array.from({ length: 8 }, () => Buffer.alloc(64 * 1024))),
    });
    expect(within.body.toString()).toBe(String(8 * 64 * 1024));
  });

  it("streams a 50 MB upload and a 50 MB download with bounded memory", {
    timeout: 60_000,
  }, async () => {
    // The gateway in a process of its own: its peak RSS is its own, not the test's clients'.
    const child = spawn(
      process.execPath,
      ["--import", "tsx", fileURLToPath(new URL("../test/gateway-process.ts", import.meta.url))],
      {
        env: {
          ...process.env,
          GATEWAY_TARGETS: JSON.stringify({ box: containerUrl }),
          GATEWAY_MAX_BODY_BYTES: String(200 * 1024 * 1024),
        },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    try {
      const port = await new Promise<number>((done, fail) => {
        child.stdout.on("data", (chunk: Buffer) => {
          const match = /port (\d+)/.exec(chunk.toString());
          if (match) done(Number(match[1]));
        });
        child.once("exit", (code) => fail(new Error(`gateway process exited ${code}`)));
      });
      const status = (field: string) =>
        Number(
          new RegExp(`${field}:\\s+(\\d+) kB`).exec(
            readFileSync(`/proc/${child.pid}/status`, "utf8"),
          )?.[1],
        ) * 1024;
      const size = 50 * 1024 * 1024;
      const chunk = Buffer.alloc(64 * 1024, 98);
      const upload = (bytes: number) =>
        call(port, "box.skiff.test", "/upload", {
          method: "PUT",
          headers: { "content-length": String(bytes) },
          body: Readable.from(
            (function* () {
              for (let sent = 0; sent < bytes; sent += chunk.length) yield chunk;
            })(),
          ),
        });
      // Warm: a small transfer each way loads the code paths and opens the pool.
      expect((await upload(4 * 1024 * 1024)).status).toBe(200);
      expect(
        (await call(port, "box.skiff.test", "/download?mb=4", { countOnly: true })).bytes,
      ).toBe(4 * 1024 * 1024);
      const before = status("VmRSS");
      const uploaded = await upload(size);
      expect(uploaded.body.toString()).toBe(String(size));
      const download = await call(port, "box.skiff.test", "/download", { countOnly: true });
      expect(download.status).toBe(200);
      expect(download.bytes).toBe(size);
      // A proxy that buffers holds a whole body at once, so its peak grows with the body. A
      // streaming one holds a few chunks: its peak is read buffers freed and not yet collected
      // (V8 collects them on external memory pressure, about 64 MB, whatever the body's size),
      // so three times the bytes again leave the peak where it was.
      const grown = status("VmHWM") - before;
      expect(grown, `peak rss grew ${grown} bytes`).toBeLessThan(80 * 1024 * 1024);
      expect((await upload(3 * size)).body.toString()).toBe(String(3 * size));
      const more = status("VmHWM") - before - grown;
      expect(more, `peak rss grew ${more} bytes more for 150 MB`).toBeLessThan(16 * 1024 * 1024);
    } finally {
      child.kill();
    }
  });

  it("appends X-Forwarded-For and strips headers named in Connection", async () => {
    const { port } = await gatewayWith();
    services.set("echo", [
      { taskId: "echo", url: await httpTarget((req, res) => res.end(JSON.stringify(req.headers))) },
    ]);
    const answer = await call(port, "echo.skiff.test:8000", "/", {
      headers: {
        "x-forwarded-for": "203.0.113.9",
        connection: "x-secret",
        "x-secret": "do not pass",
        "x-kept": "yes",
      },
    });
    const seen = JSON.parse(answer.body.toString());
    expect(seen["x-forwarded-for"]).toBe("203.0.113.9, 127.0.0.1");
    expect(seen["x-forwarded-host"]).toBe("echo.skiff.test:8000");
    expect(seen["x-forwarded-proto"]).toBe("http");
    expect(seen.host).toBe("echo.skiff.test:8000");
    expect(seen["x-secret"]).toBeUndefined();
    expect(seen["x-kept"]).toBe("yes");
  });

  it("answers 503 past the concurrency cap and aborts upstream when the client leaves", async () => {
    const { port } = await gatewayWith({ maxConcurrent: 1 });
    let upstreamClosed = false;
    services.set("hold", [
      {
        taskId: "hold",
        url: await httpTarget((req) => req.once("close", () => (upstreamClosed = true))),
      },
    ]);
    const controller = new AbortController();
    const held = fetch(`http://127.0.0.1:${port}/_/services/hold/`, { signal: controller.signal });
    held.catch(() => {});
    await new Promise((done) => setTimeout(done, 200));
    const refused = await call(port, "hold.skiff.test", "/");
    expect(refused.status).toBe(503);
    controller.abort();
    await expect.poll(() => upstreamClosed).toBe(true);
    // The slot is free again once the client left.
    services.set("hold", [{ taskId: "box", url: containerUrl }]);
    await expect.poll(async () => (await call(port, "hold.skiff.test", "/")).status).toBe(200);
  });

  it("proxies a WebSocket to a service", async () => {
    const { port } = await gatewayWith();
    const server = createServer();
    const wss = new WebSocketServer({ server });
    wss.on("connection", (socket) => socket.on("message", (data) => socket.send(`echo ${data}`)));
    servers.push(server);
    services.set("ws", [
      { taskId: "dead", url: "http://127.0.0.1:1" },
      { taskId: "ws", url: `http://127.0.0.1:${await listen(server)}` },
    ]);
    const client = new WebSocket(`ws://127.0.0.1:${port}/chat`, {
      headers: { host: "ws.skiff.test" },
    });
    const replies: string[] = [];
    await new Promise<void>((done, fail) => {
      client.once("open", () => client.send("hello"));
      client.on("message", (data) => {
        replies.push(String(data));
        if (replies.length === 1) client.send("again");
        else done();
      });
      client.once("error", fail);
    });
    expect(replies).toEqual(["echo hello", "echo again"]);
    client.close();
    wss.close();
  });
});
