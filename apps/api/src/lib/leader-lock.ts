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

  async release(): Promise<void> {
    await this.redis.eval(releaseScript, 1, this.key, this.token);
  }
}

export interface LeaderLoopOptions {
  redis: Redis;
  /** Names the loop; replicas running the same name elect one leader. */
  name: string;
  intervalMs: number;
  /** One pass of the work, run only on the leader. */
  run: () => Promise<void>;
  logger: Logger;
  /** The lease outlives a pass by this much; defaults to three intervals. */
  ttlMs?: number;
}

/**
 * Runs `run` every `intervalMs` on exactly one replica. Passes never overlap (a setTimeout chain,
 * not setInterval); an error in a pass is logged and the loop goes on.
 */
export class LeaderLoop {
  private readonly lock: LeaderLock;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private passing = false;
  /** A wake came during a pass: the next pass starts as soon as this one ends. */
  private wokenDuringPass = false;
  private stopped = true;
  /** Whether this replica held the lease at its last pass. */
  isLeader = false;

  constructor(private readonly options: LeaderLoopOptions) {
    this.lock = new LeaderLock(
      options.redis,
      options.name,
      options.ttlMs ?? options.intervalMs * 3,
    );
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
      if (leader) await this.options.run();
    } catch (error) {
      logger.error({ loop: name, err: error }, "leader loop pass failed");
    }
  }
}
