import type { Redis } from "ioredis";
import type { Logger } from "../../../lib/logger.js";

// Open WebSocket connections per API, summed over every gateway replica for /v1/metrics. A
// count is a level, not a counter, so it cannot be HINCRBY'd into one hash as request counts are
// (a replica that dies would leave its connections in the sum for ever). Each replica writes its
// own counts whole to a hash of its own with a TTL it keeps refreshing, and lists itself in a
// sorted set scored by when that hash expires; the reader sums the hashes of the listed replicas.
// A replica that dies stops refreshing: its hash expires and its count leaves the sum.

/** Replica ids, scored by the epoch ms their counts expire at. */
export const openConnectionsReplicasKey = "gw:ws:replicas";
const countsKey = (replica: string) => `gw:ws:open:${replica}`;

export interface OpenConnectionsOptions {
  redis: Redis;
  logger: Logger;
  /** This process's id (the relay's replica id). */
  replicaId: string;
  /** How long a replica's counts outlive its last refresh (it refreshes thrice within). */
  ttlSeconds?: number;
}

/** This replica's open connections per API, published to Redis on each change and on a timer. */
export class OpenConnectionsGauge {
  private readonly counts = new Map<string, number>();
  private readonly ttlSeconds: number;
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private writing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: OpenConnectionsOptions) {
    this.ttlSeconds = options.ttlSeconds ?? 30;
  }

  start(): void {
    this.timer = setInterval(() => this.publish(), (this.ttlSeconds * 1000) / 3);
    this.timer.unref();
    this.publish();
  }

  /** Takes this replica out of the sum at once (its sockets are being closed). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopped = true;
    const { redis, replicaId } = this.options;
    await this.writing;
    await redis
      .multi()
      .del(countsKey(replicaId))
      .zrem(openConnectionsReplicasKey, replicaId)
      .exec()
      .catch(() => {});
  }

  opened(apiId: string): void {
    this.counts.set(apiId, (this.counts.get(apiId) ?? 0) + 1);
    this.schedule();
  }

  closed(apiId: string): void {
    const left = (this.counts.get(apiId) ?? 0) - 1;
    if (left > 0) this.counts.set(apiId, left);
    else this.counts.delete(apiId);
    this.schedule();
  }

  /** A burst of opens and closes is written once, after the current turn. */
  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.publish();
    });
  }

  /** Writes the counts whole, one write at a time, so an older one never lands last. */
  private publish(): void {
    if (this.stopped) return;
    this.writing = this.writing.then(async () => {
      if (this.stopped) return;
      const { redis, replicaId } = this.options;
      const key = countsKey(replicaId);
      const write = redis.multi().del(key);
      if (this.counts.size > 0)
        write.hset(key, Object.fromEntries(this.counts)).expire(key, this.ttlSeconds);
      write.zadd(openConnectionsReplicasKey, Date.now() + this.ttlSeconds * 1000, replicaId);
      await write.exec().catch((error) => {
        this.options.logger.warn({ err: error }, "publishing open websocket counts failed");
      });
    });
  }
}

/** Open connections per API id, over every live replica. */
export async function openConnectionsByApi(redis: Redis): Promise<Map<string, number>> {
  await redis.zremrangebyscore(openConnectionsReplicasKey, "-inf", Date.now());
  const replicas = await redis.zrange(openConnectionsReplicasKey, 0, -1);
  const sums = new Map<string, number>();
  if (replicas.length === 0) return sums;
  const read = redis.pipeline();
  for (const replica of replicas) read.hgetall(countsKey(replica));
  for (const [error, hash] of (await read.exec()) ?? []) {
    if (error || !hash) continue;
    for (const [apiId, count] of Object.entries(hash as Record<string, string>))
      sums.set(apiId, (sums.get(apiId) ?? 0) + Number(count));
  }
  return sums;
}
