import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "./logger.js";

// Renew or release only while the lock still holds our token: a replica that lost the lock (a
// long pause, an expiry) must never extend or delete the new leader's.
const renewScript = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;
const releaseScript = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

/** A lease in Redis held by at most one replica at a time; it lapses after `ttlMs` unless renewed. */
export class LeaderLock {
  private readonly token = randomUUID();
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    name: string,
    private readonly ttlMs: number,
  ) {
    this.key = `leader:${name}`;
  }

  /** Takes the lease, or renews it when this holder has it; false when another holder does. */
  async acquire(): Promise<boolean> {
    const taken = await this.redis.set(this.key, this.token, "PX", this.ttlMs, "NX");
    if (taken === "OK") return true;
    return (await this.redis.eval(renewScript, 1, this.key, this.token, this.ttlMs)) === 1;
  }

  /** Extends the lease only while this holder has it; false once another holder took it. */
  async renew(): Promise<boolean> {
    return (await this.redis.eval(renewScript, 1, this.key, this.token, this.ttlMs)) === 1;
  }

  /** Whether this holder has the lease right now, as Redis sees it. */
  async holds(): Promise<boolean> {
    return (await this.redis.get(this.key)) === this.token;
  }

  async release(): Promise<void> {
    await this.redis.eval(releaseScript, 1, this.key, this.token);
  }
}

/** Thrown by `Lease.check()` in a pass whose replica is no longer the leader. */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
  constructor(loop: string) {
    super(`${loop}: the leader lease was lost during the pass`);
  }
}

/**
 * The leader's lease during one pass. A pass checks it before each batch of writes, so a
 * replica that lost the lease (a pause longer than the lease, Redis out of reach) stops writing
 * instead of racing the new leader.
 */
export interface Lease {
  /** Aborted once a renewal finds the lease held by another replica. */
  readonly signal: AbortSignal;
  /** Throws LeaseLostError unless this replica still holds the lease (asked of Redis). */
  check(): Promise<void>;
}

export interface LeaderLoopOptions {
  redis: Redis;
  /** Names the loop; replicas running the same name elect one leader. */
  name: string;
  intervalMs: number;
  /** One pass of the work, run only on the leader; `lease.check()` before each batch of writes. */
  run: (lease: Lease) => Promise<void>;
  logger: Logger;
  /**
   * How long the lease lasts without renewal; defaults to three intervals. It is renewed every
   * third of this while a pass runs, so a pass may take longer than the lease.
   */
  ttlMs?: number;
}

/**
 * Runs `run` every `intervalMs` on exactly one replica. Passes never overlap (a setTimeout chain,
 * not setInterval); an error in a pass is logged and the loop goes on.
 */
export class LeaderLoop {
  private readonly lock: LeaderLock;
  private readonly ttlMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private passing = false;
  /** A wake came during a pass: the next pass starts as soon as this one ends. */
  private wokenDuringPass = false;
  private stopped = true;
  /** Whether this replica held the lease at its last pass. */
  isLeader = false;

  constructor(private readonly options: LeaderLoopOptions) {
    this.ttlMs = options.ttlMs ?? options.intervalMs * 3;
    this.lock = new LeaderLock(options.redis, options.name, this.ttlMs);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Waits for a pass under way, then gives up the lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    if (this.isLeader) await this.lock.release().catch(() => {});
    this.isLeader = false;
  }

  /** Runs a pass now (or right after the one under way) instead of at the next interval. */
  wake(): void {
    if (this.stopped) return;
    if (this.passing) {
      this.wokenDuringPass = true;
      return;
    }
    clearTimeout(this.timer);
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.passing = true;
      this.running = this.pass().finally(() => {
        this.passing = false;
        const again = this.wokenDuringPass;
        this.wokenDuringPass = false;
        this.schedule(again ? 0 : this.options.intervalMs);
      });
    }, delayMs);
  }

  private async pass(): Promise<void> {
    const { logger, name } = this.options;
    try {
      const leader = await this.lock.acquire();
      if (leader !== this.isLeader)
        logger.info({ loop: name, leader }, leader ? "became leader" : "lost leadership");
      this.isLeader = leader;
      if (leader) await this.runLeased();
    } catch (error) {
      if (error instanceof LeaseLostError) {
        this.isLeader = false;
        logger.warn({ loop: name }, "lost leadership during a pass; its remaining writes skipped");
      } else logger.error({ loop: name, err: error }, "leader loop pass failed");
    }
  }

  /** Runs one pass while a timer renews the lease, so a slow pass does not outlive it. */
  private async runLeased(): Promise<void> {
    const { logger, name } = this.options;
    const lost = new AbortController();
    const renewal = setInterval(
      () => {
        this.lock.renew().then(
          (held) => {
            if (!held) lost.abort();
          },
          // Redis out of reach: the lease may lapse; check() finds out before the next write.
          (error: unknown) =>
            logger.warn({ loop: name, err: error }, "leader lease renewal failed"),
        );
      },
      Math.max(1, Math.floor(this.ttlMs / 3)),
    );
    const lease: Lease = {
      signal: lost.signal,
      check: async () => {
        if (!lost.signal.aborted && (await this.lock.holds())) return;
        lost.abort();
        throw new LeaseLostError(name);
      },
    };
    try {
      await this.options.run(lease);
    } finally {
      clearInterval(renewal);
    }
  }
}
