import type { Redis } from "ioredis";
import type { Logger } from "../../../lib/logger.js";
import { channelOf } from "../../../lib/redis.js";

/** Published after any change to keys, plans or attachments: every gateway reloads its copy. */
export const keysChangedChannel = "gateway:keys:changed";

/**
 * Tells the gateways. The change is saved whatever happens here: a lost message only delays it
 * until their next periodic reload, so a Redis failure is logged, never answered as a 5xx.
 */
export async function publishKeysChanged(redis: Redis, logger?: Logger): Promise<void> {
  try {
    await redis.publish(channelOf(redis, keysChangedChannel), "1");
  } catch (error) {
    logger?.warn(
      { err: (error as Error).message },
      "announcing an API key or usage plan change failed; gateways see it at their next reload",
    );
  }
}
