import {
  type CreateUsagePlan,
  newId,
  type UpdateUsagePlan,
  type UsagePlan,
  type UsagePlanKey,
} from "@skiff/shared";
import { and, arrayOverlaps, asc, desc, eq, inArray, lt, ne, sql } from "drizzle-orm";
import type { Database, Transaction } from "../../../db/client.js";
import { conflict, notFound } from "../../../lib/errors.js";
import { apis } from "../../apis/schema/apis.js";
import { apiKeys } from "../schema/api-keys.js";
import { usagePlanKeys } from "../schema/usage-plan-keys.js";
import { usagePlans } from "../schema/usage-plans.js";
import { lockPlans } from "./plan-lock.js";

type UsagePlanRow = typeof usagePlans.$inferSelect;

export function toUsagePlan(row: UsagePlanRow): UsagePlan {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    apiIds: row.apiIds,
    throttle: row.throttle ?? null,
    quota:
      row.quotaLimit !== null && row.quotaPeriod !== null
        ? { limit: row.quotaLimit, period: row.quotaPeriod, offset: row.quotaOffset }
        : null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function quotaColumns(quota: CreateUsagePlan["quota"] | null) {
  return quota
    ? {
        quotaLimit: quota.limit,
        quotaPeriod: quota.period,
        quotaOffset: quota.offset ?? 0,
        quotaSetAt: sql`now()`,
      }
    : { quotaLimit: null, quotaPeriod: null, quotaOffset: 0, quotaSetAt: null };
}

/**
 * As API Gateway's NotFoundException: a plan naming an API that does not exist would meter
 * nothing, so a typo must fail rather than make one. Called under `lockPlans`, which `deleteApi`
 * takes too, so no API named here can be deleted before the plan is written.
 */
async function ensureApisExist(tx: Transaction, apiIds: string[]): Promise<void> {
  if (apiIds.length === 0) return;
  const found = await tx.select({ id: apis.id }).from(apis).where(inArray(apis.id, apiIds));
  const known = new Set(found.map((row) => row.id));
  const missing = apiIds.filter((id) => !known.has(id));
  if (missing.length > 0) throw notFound(`API ${missing.join(", ")}`);
}

/** Creates a plan; NotFound when one of its APIs does not exist. */
export async function createUsagePlan(db: Database, input: CreateUsagePlan): Promise<UsagePlan> {
  return db.transaction(async (tx) => {
    await lockPlans(tx);
    const apiIds = [...new Set(input.apiIds)];
    await ensureApisExist(tx, apiIds);
    const [row] = await tx
      .insert(usagePlans)
      .values({
        id: newId("plan"),
        name: input.name,
        description: input.description ?? null,
        apiIds,
        throttle: input.throttle ?? null,
        ...quotaColumns(input.quota),
      })
      .returning();
    if (!row) throw new Error("insert returned no row");
    return toUsagePlan(row);
  });
}

/**
 * Newest first; the cursor is the id of the last plan of the previous page. With `keyId`, only
 * the plans that key is attached to.
 */
export async function listUsagePlans(
  db: Database,
  page: { limit: number; cursor?: string | undefined; keyId?: string | undefined },
): Promise<{ items: UsagePlan[]; nextCursor: string | null }> {
  const rows = await db
    .select()
    .from(usagePlans)
    .where(
      and(
        page.cursor ? lt(usagePlans.id, page.cursor) : undefined,
        page.keyId
          ? inArray(
              usagePlans.id,
              db
                .select({ id: usagePlanKeys.planId })
                .from(usagePlanKeys)
                .where(eq(usagePlanKeys.keyId, page.keyId)),
            )
          : undefined,
      ),
    )
    .orderBy(desc(usagePlans.id))
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit).map(toUsagePlan);
  const nextCursor = rows.length > page.limit ? (items.at(-1)?.id ?? null) : null;
  return { items, nextCursor };
}

export async function getUsagePlan(db: Database | Transaction, id: string): Promise<UsagePlan> {
  const [row] = await db.select().from(usagePlans).where(eq(usagePlans.id, id));
  if (!row) throw notFound(`usage plan ${id}`);
  return toUsagePlan(row);
}

/**
 * API Gateway's rule: a key is in at most one plan per API. Conflict when a key of `keyIds` is
 * in another plan than `planId` that covers one of `apiIds`.
 */
async function ensureOnePlanPerApi(
  tx: Transaction,
  planId: string,
  keyIds: string[] | "attached",
  apiIds: string[],
): Promise<void> {
  if (apiIds.length === 0) return;
  const others = await tx
    .select({ keyId: usagePlanKeys.keyId, planId: usagePlans.id, apiIds: usagePlans.apiIds })
    .from(usagePlanKeys)
    .innerJoin(usagePlans, eq(usagePlans.id, usagePlanKeys.planId))
    .where(
      and(
        ne(usagePlans.id, planId),
        arrayOverlaps(usagePlans.apiIds, apiIds),
        keyIds === "attached"
          ? sql`${usagePlanKeys.keyId} in (select ${usagePlanKeys.keyId} from ${usagePlanKeys} where ${usagePlanKeys.planId} = ${planId})`
          : inArray(usagePlanKeys.keyId, keyIds),
      ),
    )
    .limit(1);
  const other = others[0];
  if (other) {
    const shared = other.apiIds.filter((api) => apiIds.includes(api));
    throw conflict(
      `API key ${other.keyId} is already in usage plan ${other.planId} for API ${shared.join(", ")}; a key can be in one plan per API`,
    );
  }
}

/** Changes a plan; NotFound when it or one of its new APIs does not exist. */
export async function updateUsagePlan(
  db: Database,
  id: string,
  input: UpdateUsagePlan,
): Promise<UsagePlan> {
  return db.transaction(async (tx) => {
    await lockPlans(tx);
    const apiIds = input.apiIds ? [...new Set(input.apiIds)] : undefined;
    if (apiIds) {
      await ensureApisExist(tx, apiIds);
      await ensureOnePlanPerApi(tx, id, "attached", apiIds);
    }
    const [row] = await tx
      .update(usagePlans)
      .set({
        ...(input.name === undefined ? {} : { name: input.name }),
        ...(input.description === undefined ? {} : { description: input.description }),
        ...(apiIds === undefined ? {} : { apiIds }),
        ...(input.throttle === undefined ? {} : { throttle: input.throttle }),
        ...(input.quota === undefined ? {} : quotaColumns(input.quota)),
        updatedAt: sql`now()`,
      })
      .where(eq(usagePlans.id, id))
      .returning();
    if (!row) throw notFound(`usage plan ${id}`);
    return toUsagePlan(row);
  });
}

/** Deletes a plan; its keys stay, detached. */
export async function deleteUsagePlan(db: Database, id: string): Promise<void> {
  const rows = await db
    .delete(usagePlans)
    .where(eq(usagePlans.id, id))
    .returning({ id: usagePlans.id });
  if (rows.length === 0) throw notFound(`usage plan ${id}`);
}

/** Attaches a key; Conflict when it is attached already or in another plan for one of its APIs. */
export async function attachKey(
  db: Database,
  planId: string,
  keyId: string,
): Promise<UsagePlanKey> {
  return db.transaction(async (tx) => {
    await lockPlans(tx);
    const plan = await getUsagePlan(tx, planId);
    const [key] = await tx.select().from(apiKeys).where(eq(apiKeys.id, keyId));
    if (!key) throw notFound(`API key ${keyId}`);
    await ensureOnePlanPerApi(tx, planId, [keyId], plan.apiIds);
    const [row] = await tx
      .insert(usagePlanKeys)
      .values({ planId, keyId })
      .onConflictDoNothing()
      .returning();
    if (!row) throw conflict(`API key ${keyId} is already in usage plan ${planId}`);
    return {
      keyId,
      name: key.name,
      enabled: key.enabled,
      prefix: key.prefix,
      attachedAt: row.createdAt.toISOString(),
    };
  });
}

export async function detachKey(db: Database, planId: string, keyId: string): Promise<void> {
  const rows = await db
    .delete(usagePlanKeys)
    .where(and(eq(usagePlanKeys.planId, planId), eq(usagePlanKeys.keyId, keyId)))
    .returning({ keyId: usagePlanKeys.keyId });
  if (rows.length === 0) throw notFound(`API key ${keyId} in usage plan ${planId}`);
}

/** The plan's keys, by key id; the cursor is the key id of the last one of the previous page. */
export async function listPlanKeys(
  db: Database,
  planId: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ items: UsagePlanKey[]; nextCursor: string | null }> {
  await getUsagePlan(db, planId);
  const rows = await db
    .select({
      keyId: apiKeys.id,
      name: apiKeys.name,
      enabled: apiKeys.enabled,
      prefix: apiKeys.prefix,
      attachedAt: usagePlanKeys.createdAt,
    })
    .from(usagePlanKeys)
    .innerJoin(apiKeys, eq(apiKeys.id, usagePlanKeys.keyId))
    .where(
      and(
        eq(usagePlanKeys.planId, planId),
        page.cursor ? sql`${usagePlanKeys.keyId} > ${page.cursor}` : undefined,
      ),
    )
    .orderBy(asc(usagePlanKeys.keyId))
    .limit(page.limit + 1);
  const items = rows
    .slice(0, page.limit)
    .map((row) => ({ ...row, attachedAt: row.attachedAt.toISOString() }));
  const nextCursor = rows.length > page.limit ? (items.at(-1)?.keyId ?? null) : null;
  return { items, nextCursor };
}

/** Ids of every key attached to a plan (the usage route's default set). */
export async function planKeyIds(db: Database, planId: string): Promise<string[]> {
  const rows = await db
    .select({ keyId: usagePlanKeys.keyId })
    .from(usagePlanKeys)
    .where(eq(usagePlanKeys.planId, planId))
    .orderBy(asc(usagePlanKeys.keyId));
  return rows.map((row) => row.keyId);
}
