import type { Redis } from "ioredis";
import type { PushEvent } from "./context.js";

/** The Redis stream Skiff's events go to; later features (functions, deployments) read it. */
export const eventsStream = "skiff:events";

/** A push hook that appends `registry.push` events to the events stream, capped in length. */
export function redisPushHook(redis: Redis, maxLength = 100_000) {
  return async (event: PushEvent): Promise<void> => {
    await redis.xadd(
      eventsStream,
      "MAXLEN",
      "~",
      maxLength,
      "*",
      "type",
      "registry.push",
      "repository",
      event.repository,
      "tag",
      event.tag ?? "",
      "digest",
      event.digest,
      "mediaType",
      event.mediaType,
      "at",
      event.pushedAt,
    );
  };
}
