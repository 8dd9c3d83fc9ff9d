import type { Redis } from "ioredis";
import type { Logger } from "../../lib/logger.js";

// Prometheus metrics of API requests per API and route, summed over every gateway process
// (gateway-main's cluster workers share one port, so a scrape of any one process would see a
// random worker's share). Each process counts in memory on the hot path (a Map update) and adds
// its counts to one Redis hash with HINCRBY in a single pipeline a second; /v1/metrics reads the
// hash back. Counters are never reset: Prometheus takes a Redis flush as a counter reset.

/** Upper bounds (ms) of the latency histograms' buckets; past the last one counts as +Inf. */
export const latencyBucketsMs = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000];

/**
 * The `api` a function URL's requests are logged and counted under (route `$default`, as the
 * URL's events have): `fn:<function>`, which no API id (10 letters and digits) can be.
 */
export const functionUrlApiId = (functionName: string) => `fn:${functionName}`;

/** The hash of every process's counts; fields are `<api id>\t<route key>\t<counter>`. */
export const gatewayMetricsKey = "gw:metrics";

export interface RequestSample {
  apiId: string;
  routeKey: string;
  status: number;
  /** Refused by the access gate with 429 (a throttle or quota), not by the integration. */
  throttled: boolean;
  latencyMs: number;
  /** Undefined when the request never reached its integration. */
  integrationLatencyMs: number | undefined;
}

/** The bucket a latency falls in: the first bound it does not pass, or +Inf (the last index). */
export function bucketOf(ms: number): number {
  for (let i = 0; i < latencyBucketsMs.length; i++)
    if (ms <= (latencyBucketsMs[i] as number)) return i;
  return latencyBucketsMs.length;
}

export class GatewayMetrics {
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    private readonly options: { intervalMs?: number; logger?: Logger } = {},
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.flush().catch((error) =>
        this.options.logger?.warn({ err: error }, "gateway metrics flush failed"),
      );
    }, this.options.intervalMs ?? 1_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush().catch(() => {});
  }

  private add(prefix: string, counter: string, by: number): void {
    const field = prefix + counter;
    this.pending.set(field, (this.pending.get(field) ?? 0) + by);
  }

  /** Counts one request (memory only; `flush` sends it). */
  record(sample: RequestSample): void {
    const prefix = `${sample.apiId}\t${sample.routeKey}\t`;
    this.add(prefix, "n", 1);
    if (sample.status >= 400 && sample.status < 500) this.add(prefix, "4xx", 1);
    else if (sample.status >= 500) this.add(prefix, "5xx", 1);
    if (sample.throttled) this.add(prefix, "throttled", 1);
    // Sums in whole microseconds, so HINCRBY (exact, unlike HINCRBYFLOAT's doubles) adds them.
    this.add(prefix, `lat.${bucketOf(sample.latencyMs)}`, 1);
    this.add(prefix, "lat.sum", Math.round(sample.latencyMs * 1000));
    if (sample.integrationLatencyMs !== undefined) {
      this.add(prefix, `int.${bucketOf(sample.integrationLatencyMs)}`, 1);
      this.add(prefix, "int.sum", Math.round(sample.integrationLatencyMs * 1000));
      this.add(prefix, "int.n", 1);
    }
  }

  /** Adds the counts gathered since the last flush to Redis, in one pipeline. */
  flush(): Promise<void> {
    // One flush at a time. A failed flush's counts are dropped, not retried: part of its
    // pipeline may have been applied, and a counter that counts twice is worse than a gap.
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const counts = this.pending;
      this.pending = new Map();
      const pipeline = this.redis.pipeline();
      for (const [field, by] of counts) pipeline.hincrby(gatewayMetricsKey, field, by);
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error);
      if (failed) throw failed[0];
    });
    return this.flushing;
  }
}
