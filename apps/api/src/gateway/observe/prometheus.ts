import { eq } from "drizzle-orm";
import type { Redis } from "ioredis";
import type { Database } from "../../db/client.js";
import { functions } from "../../functions/schema/functions.js";
import { apiRoutes, apis, functionUrls } from "../apis/schema/apis.js";
import { openConnectionsByApi } from "../websockets/services/open-connections.js";
import { functionUrlApiId, gatewayMetricsKey, latencyBucketsMs } from "./request-metrics.js";

// The gateway's request counters (request-metrics.ts) in Prometheus text exposition format
// 0.0.4, for /v1/metrics. Series of APIs and routes that no longer exist are dropped from the
// hash as they are read, so deleted APIs do not stay in every scrape for ever.

interface RouteCounts {
  apiId: string;
  routeKey: string;
  counts: Map<string, number>;
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** Every route's counters, from the hash all gateway processes add to. */
export async function gatewayPrometheus(redis: Redis, db: Database): Promise<string> {
  const [hash, apiRows, routeRows, urlRows, open] = await Promise.all([
    redis.hgetall(gatewayMetricsKey),
    db.select({ id: apis.id, protocolType: apis.protocolType }).from(apis),
    db.select({ apiId: apiRoutes.apiId, routeKey: apiRoutes.routeKey }).from(apiRoutes),
    db
      .select({ name: functions.name })
      .from(functionUrls)
      .innerJoin(functions, eq(functions.id, functionUrls.functionId)),
    openConnectionsByApi(redis),
  ]);
  const liveApis = new Set(apiRows.map((row) => row.id));
  const liveRoutes = new Set(routeRows.map((row) => `${row.apiId}\t${row.routeKey}`));
  // A function URL's one route, `$default`, lives as long as the URL does.
  for (const row of urlRows) {
    const apiId = functionUrlApiId(row.name);
    liveApis.add(apiId);
    liveRoutes.add(`${apiId}\t$default`);
  }
  const routes = new Map<string, RouteCounts>();
  const gone: string[] = [];
  for (const field in hash) {
    const [apiId, routeKey, counter] = field.split("\t");
    if (apiId === undefined || routeKey === undefined || counter === undefined) continue;
    const id = `${apiId}\t${routeKey}`;
    // "-": requests no route matched, kept while their API is.
    if (!liveApis.has(apiId) || (routeKey !== "-" && !liveRoutes.has(id))) {
      gone.push(field);
      continue;
    }
    let route = routes.get(id);
    if (!route) {
      route = { apiId, routeKey, counts: new Map() };
      routes.set(id, route);
    }
    route.counts.set(counter, Number(hash[field]));
  }
  if (gone.length > 0) await redis.hdel(gatewayMetricsKey, ...gone);
  const sorted = [...routes.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, r]) => r);
  const labels = (r: RouteCounts) =>
    `api="${escapeLabel(r.apiId)}",route="${escapeLabel(r.routeKey)}"`;
  const lines: string[] = [];
  const counter = (metric: string, help: string, name: string) => {
    lines.push(`# HELP ${metric} ${help}`, `# TYPE ${metric} counter`);
    for (const r of sorted) lines.push(`${metric}{${labels(r)}} ${r.counts.get(name) ?? 0}`);
  };
  counter("skiff_gateway_requests_total", "API requests answered, by API and route", "n");
  counter("skiff_gateway_4xx_total", "API requests answered with a 4xx status", "4xx");
  counter("skiff_gateway_5xx_total", "API requests answered with a 5xx status", "5xx");
  counter(
    "skiff_gateway_throttled_total",
    "API requests refused with 429 by a throttle or quota (API, route or usage plan)",
    "throttled",
  );
  const histogram = (metric: string, help: string, prefix: string, count: string) => {
    lines.push(`# HELP ${metric} ${help}`, `# TYPE ${metric} histogram`);
    for (const r of sorted) {
      let cumulative = 0;
      latencyBucketsMs.forEach((bound, index) => {
        cumulative += r.counts.get(`${prefix}.${index}`) ?? 0;
        lines.push(`${metric}_bucket{${labels(r)},le="${bound / 1000}"} ${cumulative}`);
      });
      const total = r.counts.get(count) ?? 0;
      lines.push(`${metric}_bucket{${labels(r)},le="+Inf"} ${total}`);
      lines.push(`${metric}_sum{${labels(r)}} ${(r.counts.get(`${prefix}.sum`) ?? 0) / 1e6}`);
      lines.push(`${metric}_count{${labels(r)}} ${total}`);
    }
  };
  histogram(
    "skiff_gateway_latency_seconds",
    "From a request's arrival at the gateway to the end of its response",
    "lat",
    "n",
  );
  histogram(
    "skiff_gateway_integration_latency_seconds",
    "From handing a request to its integration (function, service or URL) to the end of its response",
    "int",
    "int.n",
  );
  // Every WebSocket API, 0 when nobody is connected, so a dashboard sees the API before a client.
  const metric = "skiff_gateway_websocket_connections";
  lines.push(
    `# HELP ${metric} WebSocket connections open now, by API, over every gateway replica`,
    `# TYPE ${metric} gauge`,
  );
  const webSocketApis = apiRows.filter((row) => row.protocolType === "WEBSOCKET").map((r) => r.id);
  for (const apiId of webSocketApis.sort())
    lines.push(`${metric}{api="${escapeLabel(apiId)}"} ${open.get(apiId) ?? 0}`);
  return `${lines.join("\n")}\n`;
}
