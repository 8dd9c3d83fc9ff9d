import type { PlanUsage } from "@skiff/shared";
import { eq } from "drizzle-orm";
import type { Redis } from "ioredis";
import type { Database } from "../../../db/client.js";
import { ApiError, notFound } from "../../../lib/errors.js";
import { usagePlans } from "../schema/usage-plans.js";
import { limiterKeys } from "./limiter.js";
import { usageRetentionDays } from "./limiter-script.js";
import { dateDay, dayDate, periodDays } from "./quota-periods.js";
import { planKeyIds } from "./usage-plans.js";

/**
 * Requests per key per UTC day of a plan (the limiter's counters), as API Gateway's GetUsage
 * answers them: `[used, remaining]` per day, remaining being what the quota's period had left
 * at the end of that day (null without a quota).
 */
export async function readUsage(
  db: Database,
  redis: Redis,
  planId: string,
  query: { startDate: string; endDate: string; keyId?: string | undefined },
): Promise<PlanUsage> {
  const first = dateDay(query.startDate);
  const last = dateDay(query.endDate);
  if (first === undefined || last === undefined)
    throw new ApiError("ValidationError", "startDate and endDate must be real dates, YYYY-MM-DD");
  if (last < first) throw new ApiError("ValidationError", "endDate is before startDate");
  if (last - first + 1 > usageRetentionDays)
    throw new ApiError("ValidationError", `ask for at most ${usageRetentionDays} days at once`);
  const [plan] = await db.select().from(usagePlans).where(eq(usagePlans.id, planId));
  if (!plan) throw notFound(`usage plan ${planId}`);
  const keyIds = query.keyId ? [query.keyId] : await planKeyIds(db, planId);
  const quota =
    plan.quotaLimit !== null && plan.quotaPeriod !== null
      ? {
          limit: plan.quotaLimit,
          period: plan.quotaPeriod,
          offset: plan.quotaOffset,
          setPeriod: periodDays(
            plan.quotaPeriod,
            Math.floor((plan.quotaSetAt ?? plan.createdAt).getTime() / 86_400_000),
          ).start,
        }
      : undefined;
  // Remaining needs the period's days before startDate too.
  const from = quota ? periodDays(quota.period, first).start : first;
  const days = Array.from({ length: last - from + 1 }, (_, i) => from + i);
  const items: PlanUsage["items"] = {};
  if (keyIds.length > 0) {
    const keys = keyIds.flatMap((keyId) =>
      days.map((day) => `${limiterKeys.usage(planId, keyId)}:${day}`),
    );
    const counts = await redis.mget(...keys);
    keyIds.forEach((keyId, k) => {
      const series: [number, number | null][] = [];
      let period = -1;
      let used = 0;
      days.forEach((day, d) => {
        const count = Number(counts[k * days.length + d] ?? 0);
        if (quota) {
          const start = periodDays(quota.period, day).start;
          if (start !== period) {
            period = start;
            used = 0;
          }
          used += count;
        }
        if (day < first) return;
        const limit = quota ? quota.limit - (period === quota.setPeriod ? quota.offset : 0) : 0;
        series.push([count, quota ? Math.max(0, limit - used) : null]);
      });
      items[keyId] = series;
    });
  }
  return { usagePlanId: planId, startDate: dayDate(first), endDate: dayDate(last), items };
}
