import { openDatabase } from "./db/client.js";
import { parseEnv } from "./env.js";
import { startGateway } from "./gateway/server.js";
import { createLogger } from "./lib/logger.js";
import { connectRedis } from "./lib/redis.js";

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
const database = await openDatabase({
  url: env.DATABASE_URL,
  dataDir: "",
  poolSize: env.DATABASE_POOL_SIZE,
});
const redis = connectRedis(env.REDIS_URL, logger, { keyPrefix: env.SKIFF_REDIS_PREFIX });
const port = env.SKIFF_GATEWAY_PORT || 8000;
const gateway = await startGateway({
  db: database.db,
  redis,
  logger,
  port,
  host: env.HOST,
  domain: env.SKIFF_DOMAIN,
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, async () => {
    logger.info({ signal }, "gateway shutting down");
    await gateway.stop();
    redis.disconnect();
    await database.close();
    process.exit(0);
  });
}
