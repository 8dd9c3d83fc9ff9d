import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { openDatabase } from "../apps/api/src/db/client.js";
import { runMigrations } from "../apps/api/src/db/migrate.js";
import type { AccessRequest } from "../apps/api/src/gateway/access.js";
import { createApi } from "../apps/api/src/gateway/apis/services/apis.js";
import { createApiKey } from "../apps/api/src/gateway/keys/services/api-keys.js";
import { newKeyGate } from "../apps/api/src/gateway/keys/services/key-gate.js";
import { attachKey, createUsagePlan } from "../apps/api/src/gateway/keys/services/usage-plans.js";
import { createLogger } from "../apps/api/src/lib/logger.js";
import { createBenchDatabase, redisUrl } from "./support.js";

// Admits per second of one key gate (one process, one Redis connection) and the latency of one
// decision, for a keyed request under a plan's throttle and quota plus the API's and route's
// throttles (four limits, one script), with limits too high to refuse anything. The figure bounds
// what a gateway process spends on keys and limits; the data plane's figures are bench/gateway.ts.
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 64);
const prefix = `bench:keys:${randomBytes(4).toString("hex")}:`;

async function main() {
  const benchDatabase = await createBenchDatabase();
  const database = await openDatabase({ url: benchDatabase.url, dataDir: "", poolSize: 4 });
  const redis = new Redis(redisUrl, { keyPrefix: prefix });
  const logger = createLogger("warn");
  try {
    await runMigrations(database);
    const api = await createApi(database.db, { name: "bench-api" });
    const key = await createApiKey(database.db, { name: "bench" });
    const plan = await createUsagePlan(database.db, {
      name: "bench",
      apiIds: [api.id],
      throttle: { rateLimit: 1_000_000, burstLimit: 1_000_000 },
      quota: { limit: 2_000_000_000, period: "DAY" },
    });
    await attachKey(database.db, plan.id, key.id);
    const gate = newKeyGate({ db: database.db, redis, logger });
    await gate.start();
    const high = { rateLimit: 1_000_000, burstLimit: 1_000_000 };
    const request: AccessRequest = {
      apiId: api.id,
      routeKey: "GET /items",
      apiKeyRequired: true,
      apiKey: key.value,
      apiThrottle: high,
      routeThrottle: high,
    };
    await gate.admit(request);

    const latencies: number[] = [];
    let refused = 0;
    const stopAt = performance.now() + seconds * 1000;
    const worker = async () => {
      while (performance.now() < stopAt) {
        const started = performance.now();
        const decision = await gate.admit(request);
        latencies.push(performance.now() - started);
        if (!decision.allowed) refused++;
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, worker));
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.floor(q * (latencies.length - 1))]?.toFixed(2);
    console.log(
      JSON.stringify({
        admitsPerSecond: Math.round(latencies.length / elapsed),
        concurrency,
        seconds: Number(elapsed.toFixed(1)),
        refused,
        p50Ms: at(0.5),
        p99Ms: at(0.99),
      }),
    );
    await gate.stop();
  } finally {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.unlink(...keys.map((k) => k.slice(prefix.length)));
    redis.disconnect();
    await database.close();
    await benchDatabase.drop();
  }
}

await main();
