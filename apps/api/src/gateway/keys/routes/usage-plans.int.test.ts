import type { UsagePlan } from "@skiff/shared";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createToken } from "../../../auth/services/tokens.js";
import { queryRows } from "../../../db/client.js";
import { createTestStack, type TestStack } from "../../../test/harness.js";
import { deleteApi } from "../../apis/services/apis.js";
import { usagePlans } from "../schema/usage-plans.js";
import { newKeyGate } from "../services/key-gate.js";
import { createUsagePlan } from "../services/usage-plans.js";

let stack: TestStack;
let readToken: string;
beforeAll(async () => {
  stack = await createTestStack();
  readToken = (await createToken(stack.database.db, { name: "reader", scopes: ["read"] })).token;
});
afterAll(() => stack.close());

async function call(method: string, path: string, body?: unknown, token = stack.adminToken) {
  const response = await stack.request(path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, text, body: text ? JSON.parse(text) : undefined };
}

async function created(path: string, body: unknown) {
  const answer = await call("POST", path, body);
  expect(answer.status, answer.text).toBe(201);
  return answer.body;
}

/** A new API's id: plans name only APIs that exist. */
async function newApi(name: string): Promise<string> {
  return (await created("/v1/apis", { name })).id;
}

/**
 * Waits until `count` of this database's sessions wait on a lock, or `settled` settles first
 * (when what should have waited did not).
 */
async function waitForLockWaiters(count: number, settled?: Promise<unknown>): Promise<void> {
  let done = false;
  void settled?.then(() => {
    done = true;
  });
  const deadline = Date.now() + 10_000;
  while (!done && Date.now() < deadline) {
    const [row] = await queryRows<{ waiting: number }>(
      stack.database.db,
      sql`select count(*)::int as waiting from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`,
    );
    if ((row?.waiting ?? 0) >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (!done) throw new Error(`fewer than ${count} sessions waited on a lock within 10 s`);
}

describe("usage plans", () => {
  it("creates, reads, lists, changes and deletes a plan in API Gateway's shapes", async () => {
    const [api1, api2] = [await newApi("gold-1"), await newApi("gold-2")];
    const plan = await created("/v1/usage-plans", {
      name: "gold",
      description: "partners",
      apiIds: [api1, api2, api1],
      throttle: { rateLimit: 100, burstLimit: 200 },
      quota: { limit: 10_000, period: "MONTH" },
    });
    expect(plan).toMatchObject({
      name: "gold",
      description: "partners",
      apiIds: [api1, api2],
      throttle: { rateLimit: 100, burstLimit: 200 },
      quota: { limit: 10_000, period: "MONTH", offset: 0 },
    });
    expect(plan.id).toMatch(/^plan_/);
    expect((await call("GET", `/v1/usage-plans/${plan.id}`)).body).toEqual(plan);
    const list = await call("GET", "/v1/usage-plans");
    expect(list.body.items.map((item: { id: string }) => item.id)).toContain(plan.id);

    const changed = await call("PATCH", `/v1/usage-plans/${plan.id}`, {
      throttle: null,
      quota: { limit: 50, period: "DAY", offset: 10 },
      description: null,
    });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body).toMatchObject({
      name: "gold",
      description: null,
      throttle: null,
      quota: { limit: 50, period: "DAY", offset: 10 },
    });

    expect((await call("DELETE", `/v1/usage-plans/${plan.id}`)).status).toBe(204);
    expect((await call("GET", `/v1/usage-plans/${plan.id}`)).status).toBe(404);
  });

  it("refuses bad input with 400 and creates nothing", async () => {
    const before = (await call("GET", "/v1/usage-plans?limit=500")).body.items.length;
    for (const bad of [
      { name: "x" },
      { name: "x", apiIds: "api-1" },
      { name: "x", apiIds: [], throttle: { rateLimit: 0, burstLimit: 1 } },
      { name: "x", apiIds: [], throttle: { rateLimit: 1, burstLimit: 1.5 } },
      { name: "x", apiIds: [], quota: { limit: 10, period: "YEAR" } },
      { name: "x", apiIds: [], quota: { limit: 10, period: "DAY", offset: 10 } },
      { name: "x", apiIds: [], quota: { limit: 0, period: "DAY" } },
      { name: "x", apiIds: [], extra: true },
    ]) {
      const answer = await call("POST", "/v1/usage-plans", bad);
      expect(answer.status, `${JSON.stringify(bad)}: ${answer.text}`).toBe(400);
      expect(answer.body.error.code).toBe("ValidationError");
    }
    expect((await call("GET", "/v1/usage-plans?limit=500")).body.items.length).toBe(before);
  });

  it("refuses API ids that do not exist with 404 naming them, creating and changing nothing", async () => {
    const real = await newApi("real");
    const before = (await call("GET", "/v1/usage-plans?limit=500")).body.items;
    const missing = await call("POST", "/v1/usage-plans", {
      name: "typo",
      apiIds: [real, "missing-one", "missing-two"],
    });
    expect(missing.status, missing.text).toBe(404);
    expect(missing.body.error.code).toBe("NotFound");
    expect(missing.body.error.message).toContain("missing-one");
    expect(missing.body.error.message).toContain("missing-two");
    expect(missing.body.error.message).not.toContain(real);
    expect((await call("GET", "/v1/usage-plans?limit=500")).body.items).toEqual(before);

    const plan = await created("/v1/usage-plans", { name: "kept", apiIds: [real] });
    const changed = await call("PATCH", `/v1/usage-plans/${plan.id}`, {
      name: "renamed",
      apiIds: [real, "missing-three"],
      throttle: { rateLimit: 1, burstLimit: 1 },
    });
    expect(changed.status, changed.text).toBe(404);
    expect(changed.body.error.code).toBe("NotFound");
    expect(changed.body.error.message).toContain("missing-three");
    expect((await call("GET", `/v1/usage-plans/${plan.id}`)).body).toEqual(plan);

    // A deleted API is as missing as one that never was.
    const gone = await newApi("gone");
    expect((await call("DELETE", `/v1/apis/${gone}`)).status).toBe(200);
    const late = await call("PATCH", `/v1/usage-plans/${plan.id}`, { apiIds: [gone] });
    expect(late.status, late.text).toBe(404);
    expect(late.body.error.message).toContain(gone);
    expect((await call("GET", `/v1/usage-plans/${plan.id}`)).body).toEqual(plan);
  });

  it("keeps no id of an API deleted while a plan naming it is created", async () => {
    const db = stack.database.db;
    const api = await newApi("racing");
    const holder = await created("/v1/usage-plans", { name: "holder", apiIds: [api] });
    // Pause deleteApi inside its transaction, after it has deleted the API and before it takes
    // the API out of plans, by holding a row lock on a plan it must change.
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked = () => {};
    const rowLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const hold = db.transaction(async (tx) => {
      await tx.select().from(usagePlans).where(eq(usagePlans.id, holder.id)).for("update");
      locked();
      await released;
    });
    await rowLocked;
    const deleting = deleteApi(db, api);
    await waitForLockWaiters(1);
    // Without the shared lock this sees the API (its deletion is not committed yet), writes the
    // plan, and the deletion, whose update has already chosen its rows, leaves the id behind.
    const creating = createUsagePlan(db, { name: "late", apiIds: [api] }).catch(
      (error: unknown) => error,
    );
    await waitForLockWaiters(2, creating);
    release();
    await hold;
    await deleting;
    expect(await creating).toMatchObject({ code: "NotFound", message: `API ${api} was not found` });
    const plans = (await call("GET", "/v1/usage-plans?limit=500")).body.items as UsagePlan[];
    expect(plans.filter((plan) => plan.apiIds.includes(api))).toEqual([]);
    expect(plans.map((plan) => plan.name)).not.toContain("late");
  });

  it("puts a key in at most one plan per API (409), on attach and on a change of APIs", async () => {
    const key = await created("/v1/api-keys", { name: "k" });
    const [x, y, z] = [await newApi("one-x"), await newApi("one-y"), await newApi("one-z")];
    const a = await created("/v1/usage-plans", { name: "a", apiIds: [x, y] });
    const b = await created("/v1/usage-plans", { name: "b", apiIds: [y] });
    const c = await created("/v1/usage-plans", { name: "c", apiIds: [z] });

    const attached = await call("POST", `/v1/usage-plans/${a.id}/keys`, { keyId: key.id });
    expect(attached.status, attached.text).toBe(201);
    expect(attached.body).toMatchObject({ keyId: key.id, name: "k", enabled: true });
    expect(attached.text).not.toContain(key.value);

    const twice = await call("POST", `/v1/usage-plans/${a.id}/keys`, { keyId: key.id });
    expect(twice.status, twice.text).toBe(409);
    const sameApi = await call("POST", `/v1/usage-plans/${b.id}/keys`, { keyId: key.id });
    expect(sameApi.status, sameApi.text).toBe(409);
    expect(sameApi.body.error.message).toContain(y);
    const otherApi = await call("POST", `/v1/usage-plans/${c.id}/keys`, { keyId: key.id });
    expect(otherApi.status, otherApi.text).toBe(201);

    // Plan c taking API x would put the key in two plans for it.
    const widen = await call("PATCH", `/v1/usage-plans/${c.id}`, { apiIds: [z, x] });
    expect(widen.status, widen.text).toBe(409);
    expect((await call("GET", `/v1/usage-plans/${c.id}`)).body.apiIds).toEqual([z]);

    // As GetUsagePlans with keyId: the plans the key is in, newest first.
    const ofKey = await call("GET", `/v1/usage-plans?keyId=${key.id}`);
    expect(ofKey.status, ofKey.text).toBe(200);
    expect(ofKey.body.items.map((plan: UsagePlan) => plan.id)).toEqual([c.id, a.id]);
    const ofNone = await call("GET", "/v1/usage-plans?keyId=key_missing");
    expect(ofNone.body.items).toEqual([]);

    const keys = await call("GET", `/v1/usage-plans/${a.id}/keys`);
    expect(keys.body.items.map((item: { keyId: string }) => item.keyId)).toEqual([key.id]);
    expect(
      (await call("POST", `/v1/usage-plans/${a.id}/keys`, { keyId: "key_missing" })).status,
    ).toBe(404);

    expect((await call("DELETE", `/v1/usage-plans/${a.id}/keys/${key.id}`)).status).toBe(204);
    expect((await call("DELETE", `/v1/usage-plans/${a.id}/keys/${key.id}`)).status).toBe(404);
    const nowFree = await call("POST", `/v1/usage-plans/${b.id}/keys`, { keyId: key.id });
    expect(nowFree.status, nowFree.text).toBe(201);

    // Deleting the key detaches it everywhere.
    expect((await call("DELETE", `/v1/api-keys/${key.id}`)).status).toBe(204);
    expect((await call("GET", `/v1/usage-plans/${b.id}/keys`)).body.items).toEqual([]);
  });

  it("drops a deleted API from the plans that named it", async () => {
    const api = await created("/v1/apis", { name: "retired" });
    const kept = await newApi("kept");
    const plan = await created("/v1/usage-plans", { name: "r", apiIds: [api.id, kept] });
    expect((await call("DELETE", `/v1/apis/${api.id}`)).status).toBe(200);
    expect((await call("GET", `/v1/usage-plans/${plan.id}`)).body.apiIds).toEqual([kept]);
  });

  it("answers usage per key per day, with the quota's remainder", async () => {
    const key = await created("/v1/api-keys", { name: "metered" });
    const idle = await created("/v1/api-keys", { name: "idle" });
    const apiId = await newApi("metered");
    const plan = await created("/v1/usage-plans", {
      name: "metered",
      apiIds: [apiId],
      quota: { limit: 100, period: "WEEK" },
    });
    await created(`/v1/usage-plans/${plan.id}/keys`, { keyId: key.id });
    await created(`/v1/usage-plans/${plan.id}/keys`, { keyId: idle.id });

    const { db, redis, logger } = stack.services;
    const gate = newKeyGate({ db, redis, logger, refreshMs: 600_000 });
    await gate.start();
    try {
      for (let i = 0; i < 7; i++) {
        const decision = await gate.admit({
          apiId,
          routeKey: "$default",
          apiKeyRequired: true,
          apiKey: key.value,
          apiThrottle: undefined,
          routeThrottle: undefined,
        });
        expect(decision.allowed).toBe(true);
      }
    } finally {
      await gate.stop();
    }
    const today = new Date();
    const yesterday = new Date(today.getTime() - 86_400_000).toISOString().slice(0, 10);
    const date = today.toISOString().slice(0, 10);
    const usage = await call(
      "GET",
      `/v1/usage-plans/${plan.id}/usage?startDate=${yesterday}&endDate=${date}`,
      undefined,
      readToken,
    );
    expect(usage.status, usage.text).toBe(200);
    expect(usage.body).toEqual({
      usagePlanId: plan.id,
      startDate: yesterday,
      endDate: date,
      items: {
        [key.id]: [
          [0, 100],
          [7, 93],
        ],
        [idle.id]: [
          [0, 100],
          [0, 100],
        ],
      },
    });

    const one = await call(
      "GET",
      `/v1/usage-plans/${plan.id}/usage?startDate=${date}&endDate=${date}&keyId=${key.id}`,
    );
    expect(one.body.items).toEqual({ [key.id]: [[7, 93]] });

    for (const query of [
      `startDate=${date}&endDate=${yesterday}`,
      "startDate=2026-02-30&endDate=2026-03-01",
      "startDate=2026-01-01&endDate=2026-06-01",
      `startDate=${date}`,
    ]) {
      const bad = await call("GET", `/v1/usage-plans/${plan.id}/usage?${query}`);
      expect(bad.status, `${query}: ${bad.text}`).toBe(400);
    }
  });

  it("lets a read token list plans but not create, change or attach", async () => {
    const plan = await created("/v1/usage-plans", { name: "scoped", apiIds: [] });
    expect((await call("GET", "/v1/usage-plans", undefined, readToken)).status).toBe(200);
    expect(
      (await call("GET", `/v1/usage-plans/${plan.id}/keys`, undefined, readToken)).status,
    ).toBe(200);
    for (const [method, path, body] of [
      ["POST", "/v1/usage-plans", { name: "no", apiIds: [] }],
      ["PATCH", `/v1/usage-plans/${plan.id}`, { name: "no" }],
      ["POST", `/v1/usage-plans/${plan.id}/keys`, { keyId: "key_x" }],
      ["DELETE", `/v1/usage-plans/${plan.id}`, undefined],
    ] as const) {
      const answer = await call(method, path, body, readToken);
      expect(answer.status, `${method} ${path}: ${answer.text}`).toBe(403);
    }
    expect((await call("GET", `/v1/usage-plans/${plan.id}`)).body.name).toBe("scoped");
  });
});
