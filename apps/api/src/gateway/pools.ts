import { Agent } from "node:http";

export interface Pool {
  agent: Agent;
  hostname: string;
  port: number;
}

/**
 * Keep-alive connections per target, so a request rides an open connection instead of paying a
 * TCP handshake. Idle sockets close before a node server's default 5 s keep-alive timeout would
 * close them under a request (a request sent on a socket the target is closing would be lost).
 */
export class TargetPools {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly idleMs = 4_000) {}

  /** The pool of a target origin such as `http://10.0.0.5:49153`. */
  get(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      const url = new URL(origin);
      pool = {
        // LIFO reuses the warmest sockets and lets the rest idle out after a burst.
        agent: new Agent({
          keepAlive: true,
          maxFreeSockets: 256,
          scheduling: "lifo",
          timeout: this.idleMs,
        }),
        hostname: url.hostname.replace(/^\[|\]$/g, ""),
        port: Number(url.port || 80),
      };
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /**
   * Forgets the pools of targets no longer in `live` (tasks that went away). Requests in flight
   * on them finish (connection draining); their sockets then idle out.
   */
  retain(live: ReadonlySet<string>): void {
    for (const [origin, pool] of this.pools) {
      if (live.has(origin)) continue;
      for (const sockets of Object.values(pool.agent.freeSockets)) {
        for (const socket of sockets ?? []) socket.destroy();
      }
      this.pools.delete(origin);
    }
  }

  close(): void {
    for (const pool of this.pools.values()) pool.agent.destroy();
    this.pools.clear();
  }
}
