import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type OpenDatabase, openDatabase } from "../../../db/client.js";
import { createLogger } from "../../../lib/logger.js";
import { createTestDatabase, createTestRedis } from "../../../test/harness.js";
import type { AccessDecision, AccessRequest } from "../../access.js";
import { createApi } from "../../apis/services/apis.js";
import { createApiKey, updateApiKey } from "./api-keys.js";
import { publishKeysChanged } from "./changes.js";
import { type KeyGate, newKeyGate } from "./key-gate.js";
import { limiterKeys } from "./limiter.js";
import { dayDate, dayNumber, periodDays } from "./quota-periods.js";
import { readUsage } from "./usage.js";
import { attachKey, createUsagePlan, detachKey } from "./usage-plans.js";

let testDatabase: Awaited<ReturnType<typeof createTestDatabase>>;
let database: OpenDatabase;
const prefix = `test:${randomBytes(6).toString("hex")}:`;
const connections: Redis[] = [];
const gates: KeyGate[] = [];
const logger = createLogger(process.env.TEST_LOG_LEVEL ?? "silent");

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  database = await openDatabase({ url: testDatabase.url, dataDir: "", poolSize: 4 });
});
afterAll(async () => {
  for (const gate of gates) await gate.stop();
  for (const redis of connections) redis.disconnect();
  await database.close();
  await testDatabase.drop();
});

/** A started gate on the test's database and Redis prefix (shared by every gate of the file). */
async function startGate(redis = createTestRedis(prefix)): Promise<KeyGate> {
  connections.push(redis);
  // Only change messages reload it here: the timer's safety net would hide a lost message.
  const gate = newKeyGate({ db: database.db, redis, logger, refreshMs: 600_000 });
  await gate.start();
  gates.push(gate);
  return gate;
}

async function publish() {
  const redis = createTestRedis(prefix);
  await publishKeysChanged(redis);
  redis.disconnect();
}

/** A new API's id (plans name only APIs that exist), named as the test's own API. */
async function newApi(name: string): Promise<string> {
  return (await createApi(database.db, { name })).id;
}

/** Each test its own API id, so buckets and plans of one test never touch another's. */
function request(apiId: string, overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    apiId,
    routeKey: "GET /items",
    apiKeyRequired: true,
    apiKey: undefined,
    apiThrottle: undefined,
    routeThrottle: undefined,
    ...overrides,
  };
}

async function keyInPlan(plan: Parameters<typeof createUsagePlan>[1]) {
  const key = await createApiKey(database.db, { name: "k" });
  const created = await createUsagePlan(database.db, plan);
  await attachKey(database.db, created.id, key.id);
  return { key, plan: created };
}

async function until(check: () => Promise<boolean>, ms = 3_000): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function refusal(decision: AccessDecision) {
  return decision.allowed
    ? undefined
    : { status: decision.status, body: JSON.parse(decision.body) };
}

describe("the key gate", () => {
  it("refuses a required key that is missing, unknown, disabled or in no plan for the API", async () => {
    const [auth, other, auth2] = [
      await newApi("api-auth"),
      await newApi("api-other"),
      await newApi("api-auth-2"),
    ];
    const { key } = await keyInPlan({ name: "p", apiIds: [auth] });
    const disabled = await createApiKey(database.db, { name: "off", enabled: false });
    const elsewhere = await keyInPlan({ name: "other", apiIds: [other] });
    const { plan } = await keyInPlan({ name: "p2", apiIds: [auth2] });
    await attachKey(database.db, plan.id, disabled.id);
    const gate = await startGate();

    const forbidden = { status: 403, body: { message: "Forbidden" } };
    for (const apiKey of [undefined, "unknown-key-value-000000000", disabled.value]) {
      expect(refusal(await gate.admit(request(auth2, { apiKey }))), apiKey).toEqual(forbidden);
    }
    const wrongApi = await gate.admit(request(auth, { apiKey: elsewhere.key.value }));
    expect(refusal(wrongApi)).toEqual(forbidden);

    const allowed = await gate.admit(request(auth, { apiKey: key.value }));
    expect(allowed).toMatchObject({ allowed: true, apiKeyId: key.id });
    // Not required: anyone passes, and an unknown key is ignored.
    const open = await gate.admit(
      request(auth, { apiKeyRequired: false, apiKey: "unknown-key-value-000000000" }),
    );
    expect(open).toEqual({ allowed: true, apiKeyId: undefined, headers: {} });
  });

  it("lets a burst through, refuses the next with 429 and Retry-After, then refills at the rate", async () => {
    const api = await newApi("api-burst");
    const { key } = await keyInPlan({
      name: "throttled",
      apiIds: [api],
      throttle: { rateLimit: 5, burstLimit: 10 },
    });
    const gate = await startGate();
    const admit = () => gate.admit(request(api, { apiKey: key.value }));

    const started = Date.now();
    const burst: AccessDecision[] = [];
    for (let i = 0; i < 10; i++) burst.push(await admit());
    expect(burst.every((decision) => decision.allowed)).toBe(true);
    expect(burst[0]?.headers).toMatchObject({ "X-RateLimit-Limit": "10" });
    expect(burst[0]?.headers["X-RateLimit-Remaining"]).toBe("9");

    const refused = await admit();
    expect(refusal(refused)).toEqual({ status: 429, body: { message: "Too Many Requests" } });
    expect(refused.headers).toMatchObject({
      "Retry-After": "1",
      "X-RateLimit-Limit": "10",
      "X-RateLimit-Remaining": "0",
    });

    await sleep(1_000);
    let refilled = 0;
    const refillStart = Date.now();
    while ((await admit()).allowed) refilled++;
    const elapsed = (Date.now() - started) / 1000;
    // 1 s at 5/s refills about 5 tokens; never more than the rate allows since the start.
    expect(refilled).toBeGreaterThanOrEqual(4);
    expect(10 + refilled).toBeLessThanOrEqual(Math.floor(10 + 5 * elapsed));
    expect(Date.now() - refillStart).toBeLessThan(5_000);
  });

  it("counts a quota per period, refuses past it with Limit Exceeded, and takes nothing when refused", async () => {
    const quota = await newApi("api-quota");
    const { key, plan } = await keyInPlan({
      name: "quota",
      apiIds: [quota],
      quota: { limit: 5, period: "DAY" },
      throttle: { rateLimit: 0.01, burstLimit: 3 },
    });
    const gate = await startGate();
    const admit = () => gate.admit(request(quota, { apiKey: key.value }));

    const decisions: AccessDecision[] = [];
    for (let i = 0; i < 4; i++) decisions.push(await admit());
    expect(decisions.map((decision) => decision.allowed)).toEqual([true, true, true, false]);
    // Throttled, not over quota: the refused request cost no quota.
    expect(refusal(decisions[3] as AccessDecision)?.body).toEqual({ message: "Too Many Requests" });
    const today = new Date().toISOString().slice(0, 10);
    const reader = createTestRedis(prefix);
    connections.push(reader);
    const usage = await readUsage(database.db, reader, plan.id, {
      startDate: today,
      endDate: today,
    });
    expect(usage.items[key.id]).toEqual([[3, 2]]);

    // The tightest limit is the one the headers describe: the throttle's last token here.
    expect(decisions[2]?.headers).toMatchObject({
      "X-RateLimit-Limit": "3",
      "X-RateLimit-Remaining": "0",
    });
  });

  it("refuses past the quota with 429 Limit Exceeded until the period ends, and applies the offset", async () => {
    const quota2 = await newApi("api-quota-2");
    const { key } = await keyInPlan({
      name: "quota2",
      apiIds: [quota2],
      quota: { limit: 5, period: "MONTH", offset: 2 },
    });
    const gate = await startGate();
    const admit = () => gate.admit(request(quota2, { apiKey: key.value }));
    const decisions: AccessDecision[] = [];
    for (let i = 0; i < 4; i++) decisions.push(await admit());
    // 5 a month, less the offset of 2 in the month the quota was set.
    expect(decisions.map((decision) => decision.allowed)).toEqual([true, true, true, false]);
    const refused = decisions[3] as AccessDecision;
    expect(refusal(refused)).toEqual({ status: 429, body: { message: "Limit Exceeded" } });
    const now = new Date();
    const monthEnd = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
    const reset = Number(refused.headers["X-RateLimit-Reset"]);
    expect(Math.abs(reset - (monthEnd - now.getTime()) / 1000)).toBeLessThan(5);
    expect(refused.headers["Retry-After"]).toBe(String(reset));
    expect(decisions[0]?.headers).toMatchObject({
      "X-RateLimit-Limit": "5",
      "X-RateLimit-Remaining": "2",
    });
  });

  it("holds one limit exactly across two gates sharing Redis", async () => {
    const [a, b] = [await startGate(), await startGate()];
    const throttle = { rateLimit: 20, burstLimit: 20 };
    const shared = (gate: KeyGate) =>
      gate.admit(request("api-shared", { apiKeyRequired: false, routeThrottle: throttle }));
    let allowed = 0;
    const started = Date.now();
    const stopAt = started + 1_500;
    const worker = async (gate: KeyGate) => {
      while (Date.now() < stopAt) if ((await shared(gate)).allowed) allowed++;
    };
    await Promise.all([...Array(8)].flatMap(() => [worker(a as KeyGate), worker(b as KeyGate)]));
    const elapsed = (Date.now() - started) / 1000;
    logger.info({ allowed, elapsed }, "two gates, one limit");
    expect(allowed).toBeLessThanOrEqual(Math.floor(20 + 20 * elapsed));
    // Hammered without pause, every token is taken soon after it appears.
    expect(allowed).toBeGreaterThanOrEqual(Math.floor(20 + 20 * (elapsed - 0.5)));
  });

  it("keeps default throttles per route and per API, for every client together", async () => {
    const gate = await startGate();
    const open = { apiKeyRequired: false };
    const routeThrottle = { rateLimit: 0.01, burstLimit: 2 };
    const apiThrottle = { rateLimit: 0.01, burstLimit: 3 };
    const routeA = (routeKey: string) =>
      gate.admit(request("api-defaults", { ...open, routeKey, routeThrottle, apiThrottle }));
    expect((await routeA("GET /a")).allowed).toBe(true);
    expect((await routeA("GET /a")).allowed).toBe(true);
    expect(refusal(await routeA("GET /a"))?.status).toBe(429);
    // Another route has its own bucket but shares the API's: one token of 3 is left.
    expect((await routeA("GET /b")).allowed).toBe(true);
    const overApi = await routeA("GET /b");
    expect(refusal(overApi)).toEqual({ status: 429, body: { message: "Too Many Requests" } });
    expect(overApi.headers["X-RateLimit-Limit"]).toBe("3");
  });

  it("meters a valid key that is not required, and stops a key disabled or detached within the reload", async () => {
    const [live, live2] = [await newApi("api-live"), await newApi("api-live-2")];
    const { key, plan } = await keyInPlan({
      name: "live",
      apiIds: [live],
      throttle: { rateLimit: 0.01, burstLimit: 2 },
    });
    const other = await keyInPlan({ name: "live2", apiIds: [live2] });
    const gate = await startGate();
    const optional = () => gate.admit(request(live, { apiKeyRequired: false, apiKey: key.value }));
    expect(await optional()).toMatchObject({ allowed: true, apiKeyId: key.id });
    expect((await optional()).allowed).toBe(true);
    expect(refusal(await optional())?.status).toBe(429);

    await detachKey(database.db, plan.id, key.id);
    await publish();
    const required = () => gate.admit(request(live, { apiKey: key.value }));
    const detachedIn = await until(async () => !(await required()).allowed);
    expect(detachedIn).toBeLessThan(2_000);

    const enabled = () => gate.admit(request(live2, { apiKey: other.key.value }));
    expect((await enabled()).allowed).toBe(true);
    await updateApiKey(database.db, other.key.id, { enabled: false });
    await publish();
    await until(async () => !(await enabled()).allowed);
    await updateApiKey(database.db, other.key.id, { enabled: true });
    await publish();
    await until(async () => (await enabled()).allowed);
  });

  it("sends one Redis command per request under tight limits, and none when nothing limits it", async () => {
    const trips = await newApi("api-trips");
    const { key } = await keyInPlan({
      name: "trips",
      apiIds: [trips],
      throttle: { rateLimit: 100, burstLimit: 100 },
    });
    const redis = createTestRedis(prefix);
    const gate = await startGate(redis);
    const limited = request(trips, { apiKey: key.value });
    await gate.admit(limited); // loads the script into Redis if it was not there yet
    const commands = vi.spyOn(redis, "sendCommand");
    try {
      for (let i = 0; i < 5; i++) expect((await gate.admit(limited)).allowed).toBe(true);
      expect(commands).toHaveBeenCalledTimes(5);
      commands.mockClear();
      await gate.admit(request(trips, { apiKeyRequired: false }));
      expect(commands).not.toHaveBeenCalled();
    } finally {
      commands.mockRestore();
    }
  });

  it("spends a lease of a generous limit from memory, and gives back what it did not spend", async () => {
    // Leases are 1% of the smallest limit: 10 tokens of this quota.
    const leased = await newApi("api-leased");
    const { key, plan } = await keyInPlan({
      name: "leased",
      apiIds: [leased],
      throttle: { rateLimit: 1, burstLimit: 2000 },
      quota: { limit: 1000, period: "WEEK" },
    });
    const redis = createTestRedis(prefix);
    const gate = await startGate(redis);
    const admit = () => gate.admit(request(leased, { apiKey: key.value }));
    const commands = vi.spyOn(redis, "sendCommand");
    const decisions: AccessDecision[] = [];
    try {
      for (let i = 0; i < 25; i++) decisions.push(await admit());
      // The 1st, 12th and 23rd go to Redis, each taking a lease of 10 for the next ones.
      expect(commands).toHaveBeenCalledTimes(3);
    } finally {
      commands.mockRestore();
    }
    expect(decisions.every((decision) => decision.allowed)).toBe(true);
    // The quota is the tightest limit, and counts down by one per request throughout.
    expect(decisions.map((decision) => decision.headers["X-RateLimit-Remaining"])).toEqual(
      Array.from({ length: 25 }, (_, i) => String(999 - i)),
    );

    await gate.stop();
    const day = dayNumber(Date.now());
    const quotaKey = `${limiterKeys.quota(plan.id, key.id)}:${periodDays("WEEK", day).start}`;
    expect(await redis.get(quotaKey)).toBe("25");
    const usage = await readUsage(database.db, redis, plan.id, {
      startDate: dayDate(day),
      endDate: dayDate(day),
    });
    expect(usage.items[key.id]).toEqual([[25, 975]]);
  });

  it("never admits past a generous limit across three gates, and refuses none while tokens remain", async () => {
    const gates = [await startGate(), await startGate(), await startGate()];
    // Leases of 10; refilling one token in 1,000 s, so the burst is all there is.
    const routeThrottle = { rateLimit: 0.001, burstLimit: 1000 };
    let admitted = 0;
    const worker = async (gate: KeyGate) => {
      for (let i = 0; i < 150; i++) {
        const decision = await gate.admit(
          request("api-leased-3", { apiKeyRequired: false, routeThrottle }),
        );
        if (decision.allowed) admitted++;
      }
    };
    // 1,800 requests for 1,000 tokens, from 12 callers on three gates.
    await Promise.all(gates.flatMap((gate) => [1, 2, 3, 4].map(() => worker(gate))));
    expect(admitted).toBeLessThanOrEqual(1000);
    // Each gate holds a lease of 10 at most when another is refused.
    expect(admitted).toBeGreaterThanOrEqual(970);
    for (const gate of gates) await gate.stop();
    // What the leases did not spend is back in the bucket.
    const redis = createTestRedis(prefix);
    connections.push(redis);
    const bucket = limiterKeys.route("api-leased-3", "GET /items");
    expect(Math.floor(Number(await redis.hget(bucket, "t")))).toBe(1000 - admitted);
  });

  it("decides the concurrent requests of one key in one script call, admitting exactly the burst", async () => {
    const gathered = await newApi("api-gathered");
    const { key } = await keyInPlan({
      name: "gathered",
      apiIds: [gathered],
      throttle: { rateLimit: 0.01, burstLimit: 5 },
    });
    const redis = createTestRedis(prefix);
    const gate = await startGate(redis);
    const admit = () => gate.admit(request(gathered, { apiKey: key.value }));
    await gate.admit(request(gathered, { apiKeyRequired: false })); // nothing to limit
    const commands = vi.spyOn(redis, "sendCommand");
    try {
      const decisions = await Promise.all(Array.from({ length: 20 }, admit));
      expect(commands).toHaveBeenCalledTimes(1);
      expect(decisions.map((decision) => decision.allowed)).toEqual([
        ...Array(5).fill(true),
        ...Array(15).fill(false),
      ]);
      expect(decisions.slice(0, 5).map((d) => d.headers["X-RateLimit-Remaining"])).toEqual([
        "4",
        "3",
        "2",
        "1",
        "0",
      ]);
      const refused = decisions[5] as AccessDecision;
      expect(refusal(refused)).toEqual({ status: 429, body: { message: "Too Many Requests" } });
      expect(Number(refused.headers["Retry-After"])).toBeGreaterThan(0);
      // The tokens are spent: the next request alone is refused too.
      expect((await admit()).allowed).toBe(false);
    } finally {
      commands.mockRestore();
    }
  });

  it("still checks keys from memory when Redis is gone, and lets limits lapse rather than fail", async () => {
    const outage = await newApi("api-outage");
    const { key } = await keyInPlan({
      name: "outage",
      apiIds: [outage],
      throttle: { rateLimit: 1, burstLimit: 1 },
    });
    const redis = createTestRedis(prefix);
    const gate = await startGate(redis);
    redis.disconnect();
    const withKey = await gate.admit(request(outage, { apiKey: key.value }));
    expect(withKey).toEqual({ allowed: true, apiKeyId: key.id, headers: {} });
    expect((await gate.admit(request(outage, { apiKey: key.value }))).allowed).toBe(true);
    expect(refusal(await gate.admit(request(outage)))?.status).toBe(403);
  });
});
