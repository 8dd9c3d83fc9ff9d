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

/**
 * The pub/sub channel `name` of the install whose keys start with `prefix` (SKIFF_REDIS_PREFIX).
 * ioredis's `keyPrefix` applies to keys only, never to channels: without this, two installs on
 * one Redis would wake each other's agents, schedulers and gateways.
 */
export function channelName(prefix: string | undefined, name: string): string {
  return `${prefix ?? ""}${name}`;
}

/** `channelName` under the connection's own `keyPrefix`. */
export function channelOf(redis: Redis, name: string): string {
  return channelName(redis.options.keyPrefix, name);
}
