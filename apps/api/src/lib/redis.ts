import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "./logger.js";

/**
 * A Redis connection that logs its errors instead of crashing the process; ioredis reconnects by
 * itself. `keyPrefix` keeps tests (and several Skiff installs sharing one Redis) apart.
 */
export function connectRedis(url: string, logger: Logger, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 3, ...options });
  redis.on("error", (error) => logger.warn({ err: error.message }, "redis connection error"));
  return redis;
}
