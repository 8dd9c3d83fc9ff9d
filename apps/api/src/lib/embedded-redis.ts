import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { Redis } from "ioredis";
import type { Logger } from "./logger.js";

export class RedisUnavailableError extends Error {
  override name = "RedisUnavailableError";
}

export interface EmbeddedRedis {
  url: string;
  /** The running redis-server's process id (it changes when the supervisor restarts it). */
  pid(): number | undefined;
  stop(): Promise<void>;
}

/** Restart delays after a crash: doubling from the first to the last, reset by a long run. */
const restartBackoffMs = { first: 200, max: 10_000, resetAfterRunningMs: 30_000 };

/**
 * Starts `redis-server` from PATH on a free loopback port, its data under `dataDir`, for the
 * all-in-one process when no REDIS_URL is given, and supervises it: if it dies, it is started
 * again on the same port with the same data (append-only file), after a backoff, so the api's
 * connections (which reconnect by themselves) find it again. It goes away with this process.
 */
export async function startEmbeddedRedis(dataDir: string, logger?: Logger): Promise<EmbeddedRedis> {
  if (spawnSync("redis-server", ["--version"]).error) {
    throw new RedisUnavailableError(
      "Skiff needs Redis: set REDIS_URL, or install redis-server (apt-get install redis-server) so Skiff can start one",
    );
  }
  const dir = resolve(dataDir, "redis");
  mkdirSync(dir, { recursive: true });
  await stopLeftoverRedis(dir, logger);
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child = spawnRedis(port, dir);
  await waitForRedis(url, child);

  let stopping = false;
  let delayMs = restartBackoffMs.first;
  let startedAt = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const supervise = (current: ChildProcess) => {
    current.once("exit", (code, signal) => {
      if (stopping) return;
      if (Date.now() - startedAt > restartBackoffMs.resetAfterRunningMs)
        delayMs = restartBackoffMs.first;
      logger?.error(
        { code, signal, port, dir, restartInMs: delayMs, stderr: lastOutput(current) },
        "embedded redis-server exited; restarting it on the same port with its data",
      );
      timer = setTimeout(() => {
        if (stopping) return;
        startedAt = Date.now();
        child = spawnRedis(port, dir);
        supervise(child);
        waitForRedis(url, child).then(
          () => logger?.warn({ port, pid: child.pid }, "embedded redis-server is back"),
          () => {}, // its exit handler logs and schedules the next try
        );
      }, delayMs);
      delayMs = Math.min(delayMs * 2, restartBackoffMs.max);
    });
  };
  supervise(child);

  return {
    url,
    pid: () => child.pid,
    stop: async () => {
      stopping = true;
      clearTimeout(timer);
      await stopChild(child);
    },
  };
}

const outputs = new WeakMap<ChildProcess, string>();
const pidFileName = "redis-server.pid";

/**
 * Stops a redis-server that a previous Skiff process on this data directory left running when it
 * died (kill -9, OOM): the child outlives its parent, and a second server appending to the same
 * files would corrupt them. Only called while holding the data directory (lib/data-dir-lock.ts),
 * so no live Skiff process owns it.
 */
async function stopLeftoverRedis(dir: string, logger?: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(resolve(dir, pidFileName), "utf8").trim(), 10);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isRedisServer(pid)) return;
  logger?.warn({ pid, dir }, "stopping a redis-server a previous Skiff process left running");
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {} // gone already, or not ours to stop: the new server's start says what is wrong
  };
  signal("SIGTERM");
  const deadline = Date.now() + 5_000;
  while (isRedisServer(pid)) {
    if (Date.now() > deadline) {
      signal("SIGKILL");
      break;
    }
    await new Promise((done) => setTimeout(done, 50));
  }
}

/** Whether `pid` is a live redis-server (a pid file may outlive its process and the pid be reused). */
function isRedisServer(pid: number): boolean {
  const ps = spawnSync("ps", ["-p", String(pid), "-o", "comm="], { encoding: "utf8" });
  return ps.status === 0 && ps.stdout.trim().startsWith("redis-server");
}

function spawnRedis(port: number, dir: string): ChildProcess {
  const child = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--save",
      "60 1",
      // Read by the next start when this process dies without stopping it (stopLeftoverRedis).
      "--pidfile",
      resolve(dir, pidFileName),
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  // Read what it says on stderr (a full pipe would block it), keeping the tail for the log.
  child.stderr?.on("data", (chunk: Buffer) => {
    outputs.set(child, `${outputs.get(child) ?? ""}${chunk}`.slice(-1000));
  });
  // An ENOENT here was ruled out at start; any other spawn error shows as the exit.
  child.on("error", () => {});
  return child;
}

function lastOutput(child: ChildProcess): string | undefined {
  return outputs.get(child)?.trim() || undefined;
}

function hasExited(child: ChildProcess): boolean {
  // A process killed by a signal has a signalCode and no exitCode.
  return child.exitCode !== null || child.signalCode !== null;
}

async function waitForRedis(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (hasExited(child))
      throw new RedisUnavailableError(
        `redis-server exited with ${child.exitCode ?? child.signalCode}${lastOutput(child) ? `: ${lastOutput(child)}` : ""}`,
      );
    const probe = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on("error", () => {});
    try {
      await probe.connect();
      await probe.ping();
      return;
    } catch {
      await new Promise((done) => setTimeout(done, 50));
    } finally {
      probe.disconnect();
    }
  }
  child.kill("SIGKILL");
  throw new RedisUnavailableError("redis-server did not answer within 10 s");
}

function stopChild(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return Promise.resolve();
  return new Promise((done) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(force);
      done();
    });
    child.kill("SIGTERM");
  });
}

/** A TCP port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? done(address.port) : fail(new Error("no port")),
      );
    });
  });
}
