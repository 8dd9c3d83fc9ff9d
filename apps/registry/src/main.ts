import { drizzle } from "drizzle-orm/postgres-js";
import { Redis } from "ioredis";
import pino from "pino";
import postgres from "postgres";
import { withAdvisoryLock, withAdvisoryTryLock } from "./db/advisory-lock.js";
import { runRegistryMigrations } from "./db/migrate.js";
import { blobStoreConfig, type Env, parseEnv } from "./env.js";
import { redisPushHook } from "./events.js";
import { type RegistryServer, startRegistryServer } from "./server.js";
import { createBlobStore } from "./storage/create-store.js";

/** The registry on its own (compose, N replicas): the api issues its tokens. */
async function main(): Promise<void> {
  let env: Env;
  let storage: ReturnType<typeof blobStoreConfig>;
  try {
    env = parseEnv();
    storage = blobStoreConfig(env, env.SKIFF_REGISTRY_DATA_DIR);
  } catch (error) {
    process.stderr.write(`skiff-registry: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const logger = pino({ level: env.LOG_LEVEL, base: { app: "registry" } });
  const sql = postgres(env.DATABASE_URL, { max: env.DATABASE_POOL_SIZE, onnotice: () => {} });
  const db = drizzle(sql);
  const redis = env.REDIS_URL
    ? new Redis(env.REDIS_URL, { keyPrefix: env.SKIFF_REDIS_PREFIX })
    : undefined;
  redis?.on("error", (error) => logger.warn({ err: error }, "redis error"));
  let server: RegistryServer | undefined;
  const close = async () => {
    await server?.stop();
    redis?.disconnect();
    await sql.end({ timeout: 5 });
  };
  process.once("SIGTERM", () => close().then(() => process.exit(0)));
  process.once("SIGINT", () => close().then(() => process.exit(0)));
  try {
    await runRegistryMigrations({
      db,
      kind: "postgres",
      withLock: (key, work) => withAdvisoryLock(sql, key, work),
    });
    server = await startRegistryServer({
      db,
      dataDir: env.SKIFF_REGISTRY_DATA_DIR,
      store: await createBlobStore(storage),
      port: env.SKIFF_REGISTRY_PORT,
      host: env.HOST,
      realm: `${env.SKIFF_API_PUBLIC_URL.replace(/\/+$/, "")}/v1/registry/token`,
      logger,
      ...(redis ? { onPush: redisPushHook(redis) } : {}),
      gcGraceMs: env.SKIFF_REGISTRY_GC_GRACE_SECONDS * 1000,
      maintenanceIntervalMs: env.SKIFF_REGISTRY_MAINTENANCE_INTERVAL_SECONDS * 1000,
      uploadMaxAgeMs: env.SKIFF_REGISTRY_UPLOAD_MAX_AGE_SECONDS * 1000,
      maxBlobBytes: env.SKIFF_REGISTRY_MAX_BLOB_BYTES,
      exclusive: (key, work) => withAdvisoryTryLock(sql, key, work),
    });
  } catch (error) {
    logger.fatal({ err: error }, "skiff registry failed to start");
    await close().catch(() => {});
    process.exit(1);
  }
}

await main();
