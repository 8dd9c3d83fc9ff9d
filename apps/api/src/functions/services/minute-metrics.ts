import type { FunctionMinute } from "@skiff/shared";
import type { Redis } from "ioredis";
import type { Logger } from "../../lib/logger.js";

// Per-function, per-minute series for the dashboard's charts, in Redis so every replica's
// invocations count: one hash per function and minute (`fn:{id}:m:{minute}`), expiring after a
// day. Each replica adds its counts in one pipeline a second, not per invocation. Durations
// land in fixed histogram buckets, so p50/p99 of all replicas together can be read back.

/** Upper bounds (ms) of the duration buckets; past the last one counts as the last bound. */
export const durationBucketsMs = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000,
];
const keepSeconds = 25 * 3600;
const minuteMs = 60_000;

const minuteKey = (functionId: string, minute: number) => `fn:${functionId}:m:${minute}`;

// HINCRBY each field, keep the greater concurrency, and expire: one script per hash.
const addScript = `
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
local known = tonumber(redis.call('HGET', KEYS[1], 'maxc') or '0')
if tonumber(ARGV[1]) > known then redis.call('HSET', KEYS[1], 'maxc', ARGV[1]) end
redis.call('EXPIRE', KEYS[1], ${keepSeconds})
return 1
`;

interface Pending {
  functionId: string;
  minute: number;
  counts: Map<string, number>;
  maxConcurrency: number;
}

export class MinuteMetrics {
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly options: { intervalMs?: number; logger?: Logger } = {},
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.flush().catch((error) =>
        this.options.logger?.warn({ err: error }, "function minute metrics flush failed"),
      );
    }, this.options.intervalMs ?? 1_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush().catch(() => {});
  }

  private of(functionId: string, at: number): Pending {
    const minute = Math.floor(at / minuteMs) * minuteMs;
    const key = `${functionId} ${minute}`;
    let entry = this.pending.get(key);
    if (!entry) {
      entry = { functionId, minute, counts: new Map(), maxConcurrency: 0 };
      this.pending.set(key, entry);
    }
    return entry;
  }

  private add(entry: Pending, field: string, by = 1): void {
    entry.counts.set(field, (entry.counts.get(field) ?? 0) + by);
  }

  /** An invocation ran; `concurrency`: executions of the function in flight when it began. */
  invoked(
    functionId: string,
    at: number,
    outcome: { error: boolean; durationMs: number; coldStart: boolean; concurrency: number },
  ): void {
    const entry = this.of(functionId, at);
    this.add(entry, "inv");
    if (outcome.error) this.add(entry, "err");
    if (outcome.coldStart) this.add(entry, "cold");
    const bucket = durationBucketsMs.findIndex((bound) => outcome.durationMs <= bound);
    this.add(entry, `b${bucket < 0 ? durationBucketsMs.length - 1 : bucket}`);
    entry.maxConcurrency = Math.max(entry.maxConcurrency, outcome.concurrency);
  }

  throttled(functionId: string, at: number): void {
    this.add(this.of(functionId, at), "thr");
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    const pipeline = this.redis.pipeline();
    for (const entry of batch) {
      const args: (string | number)[] = [entry.maxConcurrency];
      for (const [field, count] of entry.counts) args.push(field, count);
      pipeline.eval(addScript, 1, minuteKey(entry.functionId, entry.minute), ...args);
    }
    await pipeline.exec();
  }

  /** The last `minutes` minutes up to `now`'s, oldest first; minutes without data are zeros. */
  async series(functionId: string, minutes: number, now: number): Promise<FunctionMinute[]> {
    const last = Math.floor(now / minuteMs) * minuteMs;
    const starts = Array.from(
      { length: minutes },
      (_, index) => last - (minutes - 1 - index) * minuteMs,
    );
    const pipeline = this.redis.pipeline();
    for (const minute of starts) pipeline.hgetall(minuteKey(functionId, minute));
    const hashes = (await pipeline.exec()) ?? [];
    return starts.map((minute, index) => {
      const hash = (hashes[index]?.[1] ?? {}) as Record<string, string>;
      const count = (field: string) => Number(hash[field] ?? 0);
      const buckets = durationBucketsMs.map((_, bucket) => count(`b${bucket}`));
      return {
        minute: new Date(minute).toISOString(),
        invocations: count("inv"),
        errors: count("err"),
        throttles: count("thr"),
        coldStarts: count("cold"),
        maxConcurrency: count("maxc"),
        durationP50Ms: quantile(buckets, 0.5),
        durationP99Ms: quantile(buckets, 0.99),
      };
    });
  }
}

/** The upper bound of the bucket holding the q-th quantile; null when there is nothing. */
function quantile(buckets: number[], q: number): number | null {
  const total = buckets.reduce((sum, count) => sum + count, 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (const [index, count] of buckets.entries()) {
    seen += count;
    if (seen >= rank) return durationBucketsMs[index] ?? null;
  }
  return durationBucketsMs.at(-1) ?? null;
}
