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

/** One route's counts since the last flush. */
interface RouteCounts {
  n: number;
  "4xx": number;
  "5xx": number;
  throttled: number;
  /** Requests per latency bucket; the sums in whole microseconds. */
  lat: number[];
  latSum: number;
  int: number[];
  intSum: number;
  intN: number;
}

function noCounts(): RouteCounts {
  const buckets = () => new Array<number>(latencyBucketsMs.length + 1).fill(0);
  return {
    n: 0,
    "4xx": 0,
    "5xx": 0,
    throttled: 0,
    lat: buckets(),
    latSum: 0,
    int: buckets(),
    intSum: 0,
    intN: 0,
  };
}

/** The hash fields and increments of one route's counts (zeros left out). */
function fieldsOf(prefix: string, counts: RouteCounts): [string, number][] {
  const fields: [string, number][] = [
    [`${prefix}n`, counts.n],
    [`${prefix}4xx`, counts["4xx"]],
    [`${prefix}5xx`, counts["5xx"]],
    [`${prefix}throttled`, counts.throttled],
    [`${prefix}lat.sum`, counts.latSum],
    [`${prefix}int.sum`, counts.intSum],
    [`${prefix}int.n`, counts.intN],
  ];
  for (const [i, by] of counts.lat.entries()) fields.push([`${prefix}lat.${i}`, by]);
  for (const [i, by] of counts.int.entries()) fields.push([`${prefix}int.${i}`, by]);
  return fields.filter(([, by]) => by !== 0);
}

export class GatewayMetrics {
  /** API id, then route key: plain objects, no string built per request. */
  private pending = new Map<string, Map<string, RouteCounts>>();
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

  /** Counts one request (memory only; `flush` sends it). */
  record(sample: RequestSample): void {
    let routes = this.pending.get(sample.apiId);
    if (!routes) {
      routes = new Map();
      this.pending.set(sample.apiId, routes);
    }
    let counts = routes.get(sample.routeKey);
    if (!counts) {
      counts = noCounts();
      routes.set(sample.routeKey, counts);
    }
    counts.n++;
    if (sample.status >= 400 && sample.status < 500) counts["4xx"]++;
    else if (sample.status >= 500) counts["5xx"]++;
    if (sample.throttled) counts.throttled++;
    // Sums in whole microseconds, so HINCRBY (exact, unlike HINCRBYFLOAT's doubles) adds them.
    (counts.lat[bucketOf(sample.latencyMs)] as number)++;
    counts.latSum += Math.round(sample.latencyMs * 1000);
    if (sample.integrationLatencyMs !== undefined) {
      (counts.int[bucketOf(sample.integrationLatencyMs)] as number)++;
      counts.intSum += Math.round(sample.integrationLatencyMs * 1000);
      counts.intN++;
    }
  }

  /** Adds the counts gathered since the last flush to Redis, in one pipeline. */
  flush(): Promise<void> {
    // One flush at a time. A failed flush's counts are dropped, not retried: part of its
    // pipeline may have been applied, and a counter that counts twice is worse than a gap.
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const pending = this.pending;
      this.pending = new Map();
      const pipeline = this.redis.pipeline();
      for (const [apiId, routes] of pending)
        for (const [routeKey, counts] of routes)
          for (const [field, by] of fieldsOf(`${apiId}\t${routeKey}\t`, counts))
            pipeline.hincrby(gatewayMetricsKey, field, by);
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error);
      if (failed) throw failed[0];
    });
    return this.flushing;
  }
}
