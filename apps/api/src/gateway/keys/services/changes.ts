import type { Redis } from "ioredis";
import { channelOf } from "../../../lib/redis.js";

/** Published after any change to keys, plans or attachments: every gateway reloads its copy. */
export const keysChangedChannel = "gateway:keys:changed";

export async function publishKeysChanged(redis: Redis): Promise<void> {
  await redis.publish(channelOf(redis, keysChangedChannel), "1");
}
