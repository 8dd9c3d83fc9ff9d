import { createServer } from "node:http";
import { resolve } from "node:path";
import { getRequestListener, type ServerType } from "@hono/node-server";
import {
  blobStoreConfig,
  createBlobStore,
  type RegistryServer,
  redisPushHook,
  runRegistryMigrations,
  startRegistryServer,
} from "@skiff/registry";
import type { Redis } from "ioredis";
import { newApp } from "./app.js";
import { ensureAdminToken } from "./auth/services/tokens.js";
import { type LocalAgent, startLocalAgent } from "./compute/local-agent.js";
import { AssignmentNotifier } from "./compute/services/assignment-notifier.js";
import { LogFollowHub } from "./compute/services/log-follows.js";
import { type OpenDatabase, openDatabase, queryRows } from "./db/client.js";
import { runMigrations } from "./db/migrate.js";
import { type Env, parseEnv } from "./env.js";
import { CommandProvisioner, WebhookProvisioner } from "./fargate/services/provisioner.js";
import { withInvokeListener } from "./functions/routes/invoke-listener.js";
import { enqueueEvent } from "./functions/services/async-queue.js";
import type { createFunctions } from "./functions/services/create-functions.js";
import type { FunctionDirectory } from "./functions/services/function-directory.js";
import { functionsOfEnv } from "./functions/services/functions-of-env.js";
import { type GatewayServer, gatewayOptionsOf, startGateway } from "./gateway/server.js";
import { type CapacitySettings, createControlLoops } from "./jobs/control-loops.js";
import { systemClock } from "./lib/clock.js";
import { defaultDashboardDir } from "./lib/dashboard.js";
import { DataDirInUseError, type DataDirLock, lockDataDir } from "./lib/data-dir-lock.js";
import {
  type EmbeddedRedis,
  RedisUnavailableError,
  startEmbeddedRedis,
} from "./lib/embedded-redis.js";
import type { LeaderLoop } from "./lib/leader-lock.js";
import { createLogger, type Logger } from "./lib/logger.js";
import { connectRedis } from "./lib/redis.js";
import { platformInfo } from "./platform/services/info.js";
import { checkSecretsKey } from "./secrets/services/boot.js";
import type { Services } from "./services.js";

/** Everything main started, in the order it must be stopped. */
interface Running {
  gateway?: GatewayServer;
  registry?: RegistryServer;
  localAgent?: LocalAgent;
  loops?: LeaderLoop[];
  functions?: ReturnType<typeof createFunctions>;
  server?: ServerType;
  notifier?: AssignmentNotifier;
  logFollows?: LogFollowHub;
  functionDirectory?: FunctionDirectory;
  redis?: Redis;
  embeddedRedis?: EmbeddedRedis;
  database?: OpenDatabase;
  dataDirLock?: DataDirLock;
}

async function start(env: Env, logger: Logger, running: Running): Promise<void> {
  // The embedded engines serve this process alone: refuse a second one on the same files.
  if (!env.DATABASE_URL || !env.REDIS_URL) running.dataDirLock = lockDataDir(env.SKIFF_DATA_DIR);
  let redisUrl = env.REDIS_URL;
  if (!redisUrl) {
    running.embeddedRedis = await startEmbeddedRedis(
      env.SKIFF_DATA_DIR,
      logger.child({ component: "embedded-redis" }),
    );
    redisUrl = running.embeddedRedis.url;
    logger.info(
      { url: redisUrl, pid: running.embeddedRedis.pid() },
      "started embedded redis-server (REDIS_URL is unset)",
    );
  }
  running.redis = connectRedis(redisUrl, logger, { keyPrefix: env.SKIFF_REDIS_PREFIX });
  const redis = running.redis;

  const database = await openDatabase({
    url: env.DATABASE_URL,
    dataDir: env.SKIFF_DATA_DIR,
    poolSize: env.DATABASE_POOL_SIZE,
  });
  running.database = database;
  if (database.kind === "pglite") {
    logger.info(
      { dir: resolve(env.SKIFF_DATA_DIR, "pgdata") },
      "using embedded PGlite (DATABASE_URL is unset)",
    );
  }
  await runMigrations(database);
  await runRegistryMigrations(database);
  logger.info("database migrations applied");

  const adminToken = await ensureAdminToken(database, env.SKIFF_ADMIN_TOKEN);
  if (adminToken) printFirstAdminToken(adminToken);

  const secretsKey = await checkSecretsKey(database.db, env, logger);

  const notifier = new AssignmentNotifier(redis, logger);
  await notifier.start();
  running.notifier = notifier;
  const logFollows = new LogFollowHub(
    redis,
    {
      perToken: env.SKIFF_LOG_FOLLOWS_PER_TOKEN,
      total: env.SKIFF_LOG_FOLLOWS_MAX,
    },
    logger,
  );
  await logFollows.start();
  running.logFollows = logFollows;
  const { directory: functionDirectory, functions } = await functionsOfEnv(env, {
    db: database.db,
    redis,
    secretsKey,
    logger,
  });
  running.functionDirectory = functionDirectory;
  running.functions = functions;
  const services: Services = {
    functionDirectory,
    functions,
    enqueueFunctionEvent: (fn, payload, options) => enqueueEvent(functions, fn, payload, options),
    db: database.db,
    redis,
    logger,
    clock: systemClock,
    notifier,
    secretsKey,
    logFollows,
    settings: {
      nodeDownAfterMs: env.SKIFF_NODE_DOWN_AFTER_MS,
      prices: {
        fargate: {
          vcpuHour: env.SKIFF_FARGATE_VCPU_HOUR_PRICE,
          gbHour: env.SKIFF_FARGATE_GB_HOUR_PRICE,
        },
        pool: { vcpuHour: env.SKIFF_POOL_VCPU_HOUR_PRICE, gbHour: env.SKIFF_POOL_GB_HOUR_PRICE },
        functions: {
          requestPerMillion: env.SKIFF_FUNCTION_REQUEST_PRICE_PER_MILLION,
          gbSecond: env.SKIFF_FUNCTION_GB_SECOND_PRICE,
          freeRequests: env.SKIFF_FUNCTION_FREE_REQUESTS,
          freeGbSeconds: env.SKIFF_FUNCTION_FREE_GB_SECONDS,
        },
      },
      registryAddress: env.SKIFF_REGISTRY_ADDRESS ?? `localhost:${env.SKIFF_REGISTRY_PORT || 5000}`,
      logFollowRecheckMs: env.SKIFF_LOG_FOLLOW_RECHECK_SECONDS * 1000,
      platform: platformInfo(env),
    },
    ping: async () => {
      await queryRows(database.db, "select 1");
      await redis.ping();
    },
  };
  const app = newApp(services, {
    maxBodyBytes: env.SKIFF_MAX_BODY_BYTES,
    dashboardDir: env.SKIFF_DASHBOARD_DIR ?? defaultDashboardDir,
  });
  running.loops = createControlLoops(services, {
    nodeDownAfterMs: env.SKIFF_NODE_DOWN_AFTER_MS,
    stoppedTaskRetentionMs: env.SKIFF_STOPPED_TASK_RETENTION_SECONDS * 1000,
    capacity: capacitySettings(env),
  });
  for (const loop of running.loops) loop.start();
  functions.start();
  await new Promise<void>((listening) => {
    const server = createServer(
      withInvokeListener(services, getRequestListener(app.fetch, { hostname: env.HOST })),
    );
    running.server = server;
    server.listen(env.PORT, env.HOST, () => listening());
  });
  logger.info({ port: env.PORT, host: env.HOST }, "skiff api listening");
  if (env.SKIFF_GATEWAY_PORT > 0) {
    running.gateway = await startGateway({
      db: database.db,
      redis,
      logger,
      port: env.SKIFF_GATEWAY_PORT,
      functions,
      ...gatewayOptionsOf(env),
    });
  }
  if (env.SKIFF_REGISTRY_PORT > 0) {
    const publicUrl = env.SKIFF_API_PUBLIC_URL ?? `http://localhost:${env.PORT}`;
    const dataDir = env.SKIFF_REGISTRY_DATA_DIR ?? resolve(env.SKIFF_DATA_DIR, "registry");
    running.registry = await startRegistryServer({
      db: database.db,
      dataDir,
      store: await createBlobStore(blobStoreConfig(env, dataDir)),
      port: env.SKIFF_REGISTRY_PORT,
      host: env.HOST,
      realm: `${publicUrl.replace(/\/+$/, "")}/v1/registry/token`,
      logger: logger.child({ component: "registry" }),
      onPush: redisPushHook(redis),
      gcGraceMs: env.SKIFF_REGISTRY_GC_GRACE_SECONDS * 1000,
      maintenanceIntervalMs: env.SKIFF_REGISTRY_MAINTENANCE_INTERVAL_SECONDS * 1000,
      maxBlobBytes: env.SKIFF_REGISTRY_MAX_BLOB_BYTES,
      exclusive: database.withTryLock,
    });
  }
  if (env.SKIFF_LOCAL_AGENT) {
    running.localAgent = await startLocalAgent({
      env,
      db: database.db,
      clock: systemClock,
      logger,
    });
  }
}

/** The fargate capacity loop's settings, when the operator configured a provisioner. */
function capacitySettings(env: Env): CapacitySettings | undefined {
  const provisioner = env.SKIFF_FARGATE_PROVISIONER_URL
    ? new WebhookProvisioner(env.SKIFF_FARGATE_PROVISIONER_URL)
    : env.SKIFF_FARGATE_PROVISIONER
      ? new CommandProvisioner(env.SKIFF_FARGATE_PROVISIONER)
      : undefined;
  if (!provisioner) return undefined;
  return {
    provisioner,
    node: { cpu: env.SKIFF_FARGATE_NODE_CPU, memory: env.SKIFF_FARGATE_NODE_MEMORY },
    apiUrl: env.SKIFF_API_PUBLIC_URL ?? `http://127.0.0.1:${env.PORT}`,
    scaleInAfterMs: env.SKIFF_FARGATE_SCALE_IN_AFTER_MS,
    bootTimeoutMs: env.SKIFF_FARGATE_NODE_BOOT_TIMEOUT_MS,
  };
}

/** Printed once, outside the JSON log, so it is easy to find and is never repeated. */
function printFirstAdminToken(token: string): void {
  process.stdout.write(
    `\n  Skiff first start: admin token (shown once, stored hashed)\n\n    ${token}\n\n  export SKIFF_TOKEN=${token}\n\n`,
  );
}

/** Stops taking requests, lets those in flight finish (up to the timeout), then closes engines. */
async function stop(running: Running, env: Env, logger: Logger): Promise<void> {
  // First, while the api still answers its last reports; its containers keep running.
  await running.localAgent?.stop();
  await Promise.all((running.loops ?? []).map((loop) => loop.stop()));
  await running.gateway?.stop();
  await running.registry?.stop();
  // Follow streams never end by themselves: end them first, or closing waits the whole timeout.
  running.logFollows?.close();
  const { server } = running;
  if (server) {
    const closed = new Promise<void>((done) => server.close(() => done()));
    const timeout = setTimeout(() => {
      logger.warn("requests still in flight at the shutdown timeout; closing their connections");
      if ("closeAllConnections" in server) server.closeAllConnections();
    }, env.SKIFF_SHUTDOWN_TIMEOUT_MS);
    if ("closeIdleConnections" in server) server.closeIdleConnections();
    await closed;
    clearTimeout(timeout);
  }
  // After the server: the invocations that just finished are in the last flush.
  await running.functions?.stop();
  await running.notifier?.stop();
  await running.logFollows?.stop();
  running.functionDirectory?.stop();
  await running.redis?.quit().catch(() => running.redis?.disconnect());
  await running.database?.close();
  await running.embeddedRedis?.stop();
  running.dataDirLock?.release();
}

async function main(): Promise<void> {
  let env: Env;
  try {
    env = parseEnv();
  } catch (error) {
    process.stderr.write(`skiff: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const logger = createLogger(env.LOG_LEVEL);
  const running: Running = {};
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    stop(running, env, logger).then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));

  try {
    await start(env, logger, running);
  } catch (error) {
    if (error instanceof RedisUnavailableError || error instanceof DataDirInUseError)
      process.stderr.write(`skiff: ${error.message}\n`);
    else logger.fatal({ err: error }, "skiff failed to start");
    await stop(running, env, logger).catch(() => {});
    process.exit(1);
  }
}

await main();
