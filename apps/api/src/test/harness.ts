import { randomBytes } from "node:crypto";
import { SkiffClient } from "@skiff/shared";
import { Redis } from "ioredis";
import { inject } from "vitest";
import { newApp } from "../app.js";
import { createToken } from "../auth/services/tokens.js";
import { AssignmentNotifier } from "../compute/services/assignment-notifier.js";
import { LogFollowHub, type LogFollowLimits } from "../compute/services/log-follows.js";
import { type OpenDatabase, openDatabase } from "../db/client.js";
import { enqueueEvent } from "../functions/services/async-queue.js";
import { createFunctions } from "../functions/services/create-functions.js";
import { FunctionDirectory } from "../functions/services/function-directory.js";
import type { FunctionSettings } from "../functions/services/functions-runtime.js";
import { systemClock } from "../lib/clock.js";
import { createLogger } from "../lib/logger.js";
import { secretsKeyFrom } from "../secrets/services/secret-crypto.js";
import type { Services } from "../services.js";
import { defaultPrices } from "../usage/services/usage.js";
import { withDatabase } from "./global-setup.js";

export interface TestStack {
  services: Services;
  database: OpenDatabase;
  databaseUrl: string;
  app: ReturnType<typeof newApp>;
  /** A client driving the app in-process, signed in as an admin. */
  admin: SkiffClient;
  adminToken: string;
  /** A client with another token (or none). */
  as(token?: string): SkiffClient;
  /** A raw request against the app, for the cases the typed client cannot send. */
  request(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/** A fresh database (a copy of the migrated template) and Redis prefix for one test file. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `skiff_test_${randomBytes(6).toString("hex")}`;
  const server = await openDatabase({ url: inject("postgresUrl"), dataDir: "" });
  await server.db.execute(`create database ${name} template ${inject("templateDatabase")}`);
  await server.close();
  return {
    url: withDatabase(inject("postgresUrl"), name),
    async drop() {
      const again = await openDatabase({ url: inject("postgresUrl"), dataDir: "" });
      try {
        // An autovacuum worker on the database is not ours to terminate (that takes
        // pg_signal_backend): it finishes in a moment, so try again a few times.
        for (let attempt = 1; ; attempt++) {
          try {
            await again.db.execute(`drop database if exists ${name} with (force)`);
            return;
          } catch (error) {
            if (attempt >= 10) throw error;
            await new Promise((next) => setTimeout(next, 300));
          }
        }
      } finally {
        await again.close();
      }
    },
  };
}

/** A Redis connection under its own key prefix; pass a prefix to share one between connections. */
export function createTestRedis(prefix = `test:${randomBytes(6).toString("hex")}:`): Redis {
  // Named after the prefix, so a test can count this stack's connections (CLIENT LIST).
  const connectionName = prefix.replace(/[^A-Za-z0-9:_-]/g, "");
  return new Redis(inject("redisUrl"), { keyPrefix: prefix, connectionName });
}

export async function createTestStack(
  options: {
    maxBodyBytes?: number;
    dashboardDir?: string;
    logFollows?: Partial<LogFollowLimits>;
    logFollowRecheckMs?: number;
    /** Settings of the functions domain (its timers and workers start only when asked). */
    functions?: Partial<FunctionSettings> & { retryBaseDelayMs?: number; startWorkers?: boolean };
  } = {},
): Promise<TestStack> {
  const testDatabase = await createTestDatabase();
  const database = await openDatabase({ url: testDatabase.url, dataDir: "", poolSize: 4 });
  const redis = createTestRedis();
  const notifier = new AssignmentNotifier(redis);
  await notifier.start();
  const secretsKey = secretsKeyFrom(randomBytes(32));
  const logFollows = new LogFollowHub(redis, { perToken: 10, total: 500, ...options.logFollows });
  await logFollows.start();
  const functionDirectory = new FunctionDirectory({
    db: database.db,
    redis,
    secretsKey,
    region: "us-east-1",
  });
  await functionDirectory.start();
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? "silent");
  const functions = createFunctions({
    db: database.db,
    redis,
    clock: systemClock,
    logger,
    directory: functionDirectory,
    settings: {
      region: "us-east-1",
      platformConcurrency: options.functions?.platformConcurrency ?? 100,
      idleMs: options.functions?.idleMs ?? 300_000,
      throttleWaitMs: options.functions?.throttleWaitMs ?? 0,
    },
    events: {
      prefix: redis.options.keyPrefix ?? "",
      retryBaseDelayMs: options.functions?.retryBaseDelayMs ?? 200,
      concurrency: 4,
    },
    flushMs: 100,
  });
  if (options.functions?.startWorkers) functions.start();
  const services: Services = {
    functionDirectory,
    functions,
    enqueueFunctionEvent: (fn, payload, options) => enqueueEvent(functions, fn, payload, options),
    notifier,
    secretsKey,
    logFollows,
    settings: {
      nodeDownAfterMs: 15_000,
      prices: defaultPrices,
      registryAddress: "localhost:5000",
      logFollowRecheckMs: options.logFollowRecheckMs ?? 10_000,
      platform: {
        domain: "localhost",
        gatewayPort: 8000,
        gatewayUrl: "http://{service}.localhost:8000/",
        version: "test",
        features: [],
      },
    },
    db: database.db,
    redis,
    logger,
    clock: systemClock,
    ping: async () => {
      await database.db.execute("select 1");
      await redis.ping();
    },
  };
  const app = newApp(services, {
    ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
    ...(options.dashboardDir === undefined ? {} : { dashboardDir: options.dashboardDir }),
  });
  const { token: adminToken } = await createToken(database.db, {
    name: "test admin",
    scopes: ["admin"],
  });
  const fetchApp = async (input: string, init: RequestInit) => app.request(input, init);
  const as = (token?: string) =>
    new SkiffClient({ baseUrl: "http://skiff.test", token, fetch: fetchApp });
  return {
    services,
    database,
    databaseUrl: testDatabase.url,
    app,
    admin: as(adminToken),
    adminToken,
    as,
    request: async (path, init) => app.request(`http://skiff.test${path}`, init),
    async close() {
      await functions.stop();
      await notifier.stop();
      await logFollows.stop();
      functionDirectory.stop();
      redis.disconnect();
      await database.close();
      await testDatabase.drop();
    },
  };
}
