import { createHash } from "node:crypto";
import type { ChainableCommander, Redis } from "ioredis";

/**
 * A Lua script run by its SHA-1 (EVALSHA), sent in full only when the server does not have it
 * yet (after a restart or SCRIPT FLUSH): the invoke path's scripts run on every invocation.
 * ioredis prefixes the first `numberOfKeys` arguments with the connection's keyPrefix.
 */
export class LuaScript {
  readonly sha: string;

  constructor(readonly lua: string) {
    this.sha = createHash("sha1").update(lua).digest("hex");
  }

  async run(redis: Redis, numberOfKeys: number, ...args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, numberOfKeys, ...args);
    } catch (error) {
      if (!String((error as Error).message).startsWith("NOSCRIPT")) throw error;
      return redis.eval(this.lua, numberOfKeys, ...args);
    }
  }

  /** In a pipeline, where a NOSCRIPT answer cannot be retried: the full script. */
  queue(pipeline: ChainableCommander, numberOfKeys: number, ...args: (string | number)[]): void {
    pipeline.eval(this.lua, numberOfKeys, ...args);
  }
}
