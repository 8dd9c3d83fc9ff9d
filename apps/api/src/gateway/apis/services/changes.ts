import type { Redis } from "ioredis";
import { channelOf } from "../../../lib/redis.js";

/** pub/sub: an API, route, host name or function URL changed; every gateway reloads its table. */
export const apisChannel = "gw:apis";

export async function publishApisChanged(redis: Redis): Promise<void> {
  await redis.publish(channelOf(redis, apisChannel), "changed");
}
