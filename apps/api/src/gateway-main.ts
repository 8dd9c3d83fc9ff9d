import cluster from "node:cluster";
import { openDatabase } from "./db/client.js";
import { type Env, parseEnv } from "./env.js";
import { createFunctions } from "./functions/services/create-functions.js";
import { FunctionDirectory } from "./functions/services/function-directory.js";
import { gatewaySettingsOf } from "./gateway/proxy.js";
import { startGateway } from "./gateway/server.js";
import { systemClock } from "./lib/clock.js";
import type { Logger } from "./lib/logger.js";
import { createLogger } from "./lib/logger.js";
import { connectRedis } from "./lib/redis.js";
import { checkSecretsKey } from "./secrets/services/boot.js";

// The gateway as its own process, for running N replicas of it apart from the api:
//   DATABASE_URL=... REDIS_URL=... node apps/api/dist/gateway-main.js
// It only reads: the api owns migrations and every write.
const env = (() => {
  try {
    return parseEnv();
  } catch (error) {
    process.stderr.write(`skiff gateway: ${(error as Error).message}\n`);
    process.exit(1);
  }
})();
// A gateway of its own reads the api's database and hears its Redis; the embedded PGlite
// database and Redis live inside the api's process, out of its reach.
if (!env.DATABASE_URL || !env.REDIS_URL) {
  const missing = [env.DATABASE_URL ? "" : "DATABASE_URL", env.REDIS_URL ? "" : "REDIS_URL"];
  process.stderr.write(
    `skiff gateway: ${missing.filter(Boolean).join(" and ")} required: a gateway process of its own shares the api's PostgreSQL and Redis (the embedded ones live inside the api's process); without them, use the api's built-in gateway (SKIFF_GATEWAY_PORT)\n`,
  );
  process.exit(1);
}
const logger = createLogger(env.LOG_LEVEL, { service: "skiff-gateway" });
const port = env.SKIFF_GATEWAY_PORT || 8000;

if (env.SKIFF_GATEWAY_WORKERS > 1 && cluster.isPrimary) {
  // Several workers share the port (node:cluster hands them connections); each holds its own
  // target table and pools. A worker that dies is replaced.
  let stopping = false;
  for (let i = 0; i < env.SKIFF_GATEWAY_WORKERS; i++) cluster.fork();
  cluster.on("exit", (worker, code) => {
    if (stopping) return;
    logger.error({ worker: worker.id, code }, "gateway worker exited; starting another");
    cluster.fork();
  });
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      stopping = true;
      logger.info({ signal }, "gateway shutting down");
      const workers = Object.values(cluster.workers ?? {});
      for (const worker of workers) worker?.process.kill(signal);
      let left = workers.length;
      if (left === 0) process.exit(0);
      cluster.on("exit", () => {
        if (--left === 0) process.exit(0);
      });
    });
  }
} else {
  await serve();
}

async function serve() {
  if (!env.DATABASE_URL || !env.REDIS_URL) return;
  const database = await openDatabase({
    url: env.DATABASE_URL,
    dataDir: "",
    poolSize: env.DATABASE_POOL_SIZE,
  });
  const redis = connectRedis(env.REDIS_URL, logger, { keyPrefix: env.SKIFF_REDIS_PREFIX });
  const functions = await startFunctions(env, database.db, redis, logger);
  const gateway = await startGateway({
    db: database.db,
    redis,
    logger,
    port,
    host: env.HOST,
    domain: env.SKIFF_DOMAIN,
    settings: gatewaySettingsOf(env),
    websockets: {
      idleTimeoutMs: env.SKIFF_GATEWAY_WS_IDLE_TIMEOUT_MS,
      maxConnectionMs: env.SKIFF_GATEWAY_WS_MAX_CONNECTION_MS,
    },
    functions: functions.runtime,
    accessLog: env.SKIFF_GATEWAY_ACCESS_LOG,
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, async () => {
      logger.info({ signal }, "gateway shutting down");
      await gateway.stop();
      await functions.stop();
      redis.disconnect();
      await database.close();
      process.exit(0);
    });
  }
}

/**
 * The invoke path of this process, built as the api builds its own (routes to functions and
 * function URLs invoke here): one more replica of it, with its own liveness key in Redis, its
 * share of Event workers and its metering. Secrets resolve with SKIFF_SECRETS_KEY, which must be
 * the api's.
 */
async function startFunctions(
  env: Env,
  db: Parameters<typeof createFunctions>[0]["db"],
  redis: Parameters<typeof createFunctions>[0]["redis"],
  logger: Logger,
) {
  const secretsKey = await checkSecretsKey(db, env, logger);
  const directory = new FunctionDirectory({
    db,
    redis,
    secretsKey,
    region: env.SKIFF_REGION,
    logger: logger.child({ component: "function-directory" }),
  });
  await directory.start();
  const runtime = createFunctions({
    db,
    redis,
    clock: systemClock,
    logger: logger.child({ component: "functions" }),
    directory,
    settings: {
      region: env.SKIFF_REGION,
      platformConcurrency: env.SKIFF_FUNCTION_CONCURRENCY,
      idleMs: env.SKIFF_FUNCTION_IDLE_SECONDS * 1000,
      throttleWaitMs: env.SKIFF_FUNCTION_THROTTLE_WAIT_MS,
    },
    events: {
      prefix: env.SKIFF_REDIS_PREFIX,
      retryBaseDelayMs: env.SKIFF_FUNCTION_RETRY_DELAY_SECONDS * 1000,
      concurrency: env.SKIFF_FUNCTION_EVENT_CONCURRENCY,
    },
  });
  runtime.start();
  return {
    runtime,
    async stop() {
      await runtime.stop();
      directory.stop();
    },
  };
}
