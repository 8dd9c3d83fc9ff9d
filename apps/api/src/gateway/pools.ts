import { lookup } from "node:dns";
import { Pool as UndiciPool } from "undici";
import { guardedLookup } from "./apis/services/url-target.js";

/** Host names (URL targets) that resolve to link-local or metadata addresses are refused. */
const safeLookup = guardedLookup(lookup as never);

export interface Pool {
  /** Keep-alive connections to the target, for proxied requests. */
  dispatcher: UndiciPool;
  /** Where the target is, for a connection of its own (an upgrade). */
  hostname: string;
  port: number;
}

export interface PoolSettings {
  connectTimeoutMs: number;
}

/**
 * Keep-alive connections per target (undici pools: measured faster than node:http agents in the
 * gateway's benchmark), so a request rides an open connection instead of paying a TCP
 * handshake. Idle connections close before the target's announced keep-alive timeout (4 s
 * when it announces none), so no request is sent on a connection the target is closing.
 */
export class TargetPools {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly settings: PoolSettings) {}

  /** The pool of a target origin such as `http://10.0.0.5:49153`. */
  get(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      const url = new URL(origin);
      pool = {
        dispatcher: new UndiciPool(origin, {
          connect: { timeout: this.settings.connectTimeoutMs, lookup: safeLookup },
          // Time between body chunks is the target's affair (streams, long polls); the response
          // timeout is per request.
          bodyTimeout: 0,
        }),
        hostname: url.hostname.replace(/^\[|\]$/g, ""),
        port: Number(url.port || 80),
      };
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /**
   * Lets go of the pools of targets no longer in `live` (tasks that went away): requests in
   * flight on them finish first (connection draining).
   */
  retain(live: ReadonlySet<string>): void {
    for (const [origin, pool] of this.pools) {
      if (live.has(origin)) continue;
      this.pools.delete(origin);
      pool.dispatcher.close().catch(() => {});
    }
  }

  close(): void {
    for (const pool of this.pools.values()) pool.dispatcher.destroy().catch(() => {});
    this.pools.clear();
  }
}
