import cluster from "node:cluster";
import { openDatabase } from "./db/client.js";
import { parseEnv } from "./env.js";
import { functionsOfEnv } from "./functions/services/functions-of-env.js";
import { gatewayOptionsOf, startGateway } from "./gateway/server.js";
import { createLogger } from "./lib/logger.js";
import { connectRedis } from "./lib/redis.js";
import { checkSecretsKey } from "./secrets/services/boot.js";

// The gateway as its own process, for running N replicas of it apart from the api:
//   DATABASE_URL=... REDIS_URL=... node apps/api/dist/gateway-main.js
// It runs no migrations: the api owns the schema.
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
  const secretsKey = await checkSecretsKey(database.db, env, logger);
  // Routes to functions and function URLs invoke here: one more replica of the invoke path.
  const { directory, functions } = await functionsOfEnv(env, {
    db: database.db,
    redis,
    secretsKey,
    logger,
  });
  functions.start();
  const gateway = await startGateway({
    db: database.db,
    redis,
    logger,
    port,
    functions,
    ...gatewayOptionsOf(env),
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, async () => {
      logger.info({ signal }, "gateway shutting down");
      await gateway.stop();
      await functions.stop();
      directory.stop();
      redis.disconnect();
      await database.close();
      process.exit(0);
    });
  }
}
