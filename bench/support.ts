import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SkiffClient } from "@skiff/shared";
import postgres from "postgres";
import {
  mainScript,
  type SkiffProcess,
  startSkiffProcess,
  waitForHealth,
} from "../apps/api/src/test/process.js";

/** A PostgreSQL URL whose role may create databases; each run makes its own and drops it. */
export const postgresUrl =
  process.env.DATABASE_URL ?? "postgres://skiff_test:skiff_test@127.0.0.1:5432/skiff_test";

/**
 * Redis for the api under test. A database number of its own: the api's leader locks have no
 * key prefix, and an api of a test running meanwhile on db 0 would take the loops' leadership.
 */
export const redisUrl = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6399/11";

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database; the api migrates it at boot. */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = `skiff_bench_${randomBytes(6).toString("hex")}`;
  const admin = async (statement: string) => {
    const sql = postgres(postgresUrl, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(statement);
    } finally {
      await sql.end();
    }
  };
  await admin(`create database ${name}`);
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin(`drop database if exists ${name} with (force)`),
  };
}

export interface BenchApi {
  /** The current process: `restart()` replaces it (on another port). */
  process: SkiffProcess;
  admin: SkiffClient;
  adminToken: string;
  database: BenchDatabase;
  /** A JSON request as the admin, for routes the typed client lacks; throws unless it succeeds. */
  // biome-ignore lint/suspicious/noExplicitAny: a bench reads whatever the route answered
  call(method: string, path: string, body?: unknown): Promise<any>;
  /** Stops the process with `signal` and starts it again on the same database, Redis and data. */
  restart(signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The built api (`npm start`'s dist/main.js) as its own process on a free port, against a fresh
 * database; `env` adds to or overrides the defaults (no local agent, no gateway).
 */
export async function startBenchApi(env: Record<string, string> = {}): Promise<BenchApi> {
  if (!existsSync(mainScript)) throw new Error(`${mainScript} is missing: run npm run build`);
  const database = await createBenchDatabase();
  const workDir = mkdtempSync(join(tmpdir(), "skiff-bench-"));
  const adminToken = `bench-admin-${randomBytes(16).toString("hex")}`;
  const processEnv = {
    DATABASE_URL: database.url,
    REDIS_URL: redisUrl,
    SKIFF_ADMIN_TOKEN: adminToken,
    SKIFF_LOCAL_AGENT: "false",
    SKIFF_DATA_DIR: join(workDir, "data"),
    ...env,
  };
  let api = await startSkiffProcess(workDir, processEnv);
  try {
    await waitForHealth(api, 30_000);
  } catch (error) {
    await api.stop("SIGKILL");
    await database.drop();
    throw error;
  }
  const stop = async () => {
    await api.stop();
    await database.drop();
    rmSync(workDir, { recursive: true, force: true });
  };
  // An interrupted bench leaves neither an api process nor a database behind.
  const interrupted = () => void stop().finally(() => process.exit(130));
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  return {
    get process() {
      return api;
    },
    get admin() {
      return new SkiffClient({ baseUrl: api.baseUrl, token: adminToken });
    },
    adminToken,
    database,
    async call(method, path, body) {
      const answer = await fetch(`${api.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await answer.text();
      if (!answer.ok) throw new Error(`${method} ${path}: ${answer.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    },
    async restart(signal = "SIGTERM") {
      await api.stop(signal);
      api = await startSkiffProcess(workDir, { ...processEnv, PORT: String(api.port) });
      await waitForHealth(api, 60_000);
    },
    async stop() {
      process.off("SIGINT", interrupted);
      process.off("SIGTERM", interrupted);
      await stop();
    },
  };
}

/** Calls `probe` every `everyMs` until it returns a value; throws after `timeoutMs`. */
export async function poll<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** Runs `work` over `items` with at most `concurrency` at once, in order of start. */
export async function forEachLimited<T>(
  items: T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Milliseconds as seconds with one decimal, for result lines. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
