import { randomBytes } from "node:crypto";
import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { Redis } from "ioredis";
import { pino } from "pino";
import { newRequestObserver } from "../apps/api/src/gateway/observe/observer.js";
import { GatewayMetrics } from "../apps/api/src/gateway/observe/request-metrics.js";
import { redisUrl } from "./support.js";

// What observing an API request costs a gateway process (gateway/observe): the pipeline's notes,
// the metrics' in-memory counts and, with the access log on, one JSON line (pino to /dev/null,
// asynchronously, as stdout to a pipe), measured over many requests on the hot path; then one
// flush of a second's counts for many routes to Redis (off the hot path, once a second).
//   npx tsx bench/gateway-observe.ts
const requests = Number(process.env.BENCH_REQUESTS ?? 200_000);
const routes = Number(process.env.BENCH_ROUTES ?? 100);

function exchanges(count: number): [IncomingMessage, ServerResponse][] {
  const made: [IncomingMessage, ServerResponse][] = [];
  for (let i = 0; i < count; i++) {
    const req = new IncomingMessage(new Socket());
    req.url = `/items/${i}?q=1`;
    req.method = "GET";
    const res = new ServerResponse(req);
    res.statusCode = i % 20 === 0 ? 503 : 200;
    made.push([req, res]);
  }
  return made;
}

async function main() {
  const prefix = `bench:observe:${randomBytes(4).toString("hex")}:`;
  const redis = new Redis(redisUrl, { keyPrefix: prefix });
  try {
    const metrics = new GatewayMetrics(redis);
    const log = pino({ level: "info" }, pino.destination({ dest: "/dev/null", sync: false }));
    // Twice over: the first round warms the JIT up; the second's figures are the ones printed.
    for (const round of [1, 2])
      for (const [name, accessLog] of [
        ["nothing observed (the listener and its event)", undefined],
        ["metrics", undefined],
        ["metrics and access log", log],
      ] as const) {
        const observer = newRequestObserver({
          accessLog,
          metrics: name === "metrics" || accessLog ? metrics : undefined,
        });
        const made = exchanges(requests);
        const started = performance.now();
        for (const [index, [req, res]] of made.entries()) {
          const seen = observer.begin(req, res, "abcdefghij", "request-id");
          seen.routeKey = `GET /route-${index % routes}/{id}`;
          seen.apiKeyId = "key_1";
          seen.integrationStartedAt = performance.now();
          res.emit("close");
        }
        const perRequest = ((performance.now() - started) * 1000) / requests;
        if (round === 2) console.log(`${name}: ${perRequest.toFixed(2)} µs per request`);
      }
    const started = performance.now();
    await metrics.flush();
    console.log(
      `flush of ${routes} routes' counts to Redis: ${(performance.now() - started).toFixed(1)} ms` +
        ` (${await redis.hlen("gw:metrics")} fields)`,
    );
  } finally {
    await redis.del("gw:metrics");
    redis.disconnect();
  }
}

await main();
