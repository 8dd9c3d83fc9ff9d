import type { Database } from "../../../db/client.js";
import type { Throttle } from "../../access.js";
import { apiKeys } from "../schema/api-keys.js";
import { usagePlanKeys } from "../schema/usage-plan-keys.js";
import { usagePlans } from "../schema/usage-plans.js";
import type { QuotaPeriod } from "./quota-periods.js";

/** A plan as the gate applies it to one key on one API. */
export interface GatePlan {
  id: string;
  throttle: Throttle | undefined;
  quota: { limit: number; period: QuotaPeriod; offset: number; setAtSeconds: number } | undefined;
}

export interface GateKey {
  id: string;
  enabled: boolean;
  /** The key's plan per API id (at most one, as the attach route enforces). */
  plans: Map<string, GatePlan>;
}

/** Keys by the hash of their value: the gate's whole view of keys and plans. */
export type GateTable = Map<string, GateKey>;

/** Everything the gate needs, in three queries; nothing of it is read per request. */
export async function loadGateTable(db: Database): Promise<GateTable> {
  const [keys, plans, attachments] = await Promise.all([
    db.select({ id: apiKeys.id, hash: apiKeys.keyHash, enabled: apiKeys.enabled }).from(apiKeys),
    db.select().from(usagePlans),
    db.select({ planId: usagePlanKeys.planId, keyId: usagePlanKeys.keyId }).from(usagePlanKeys),
  ]);
  const planById = new Map<string, { plan: GatePlan; apiIds: string[] }>();
  for (const row of plans) {
    const quota =
      row.quotaLimit !== null && row.quotaPeriod !== null
        ? {
            limit: row.quotaLimit,
            period: row.quotaPeriod,
            offset: row.quotaOffset,
            setAtSeconds: Math.floor((row.quotaSetAt ?? row.createdAt).getTime() / 1000),
          }
        : undefined;
    planById.set(row.id, {
      plan: { id: row.id, throttle: row.throttle ?? undefined, quota },
      apiIds: row.apiIds,
    });
  }
  const keyById = new Map<string, GateKey>();
  const table: GateTable = new Map();
  for (const row of keys) {
    const key: GateKey = { id: row.id, enabled: row.enabled, plans: new Map() };
    keyById.set(row.id, key);
    table.set(row.hash, key);
  }
  for (const { planId, keyId } of attachments) {
    const key = keyById.get(keyId);
    const plan = planById.get(planId);
    if (!key || !plan) continue;
    for (const apiId of plan.apiIds) key.plans.set(apiId, plan.plan);
  }
  return table;
}
