import { z } from "zod";
import { paginationQuerySchema } from "./pagination.js";

/** A token bucket: `rateLimit` requests per second on average, `burstLimit` at once. */
export const throttleSchema = z.strictObject({
  rateLimit: z.number().min(0.001).max(1_000_000),
  burstLimit: z.number().int().min(1).max(1_000_000),
});

export const quotaPeriods = ["DAY", "WEEK", "MONTH"] as const;

/**
 * Requests per key per period (UTC days, weeks from Monday, calendar months). `offset`, as in
 * API Gateway, is taken off the limit in the period the quota was set in.
 */
export const quotaSchema = z
  .strictObject({
    limit: z.number().int().min(1).max(2_000_000_000),
    period: z.enum(quotaPeriods),
    offset: z.number().int().min(0).max(2_000_000_000).optional(),
  })
  .refine((quota) => (quota.offset ?? 0) < quota.limit, {
    message: "offset must be less than limit",
    path: ["offset"],
  });
export type Quota = z.infer<typeof quotaSchema>;

const apiIdsSchema = z.array(z.string().min(1).max(128)).max(100);
const planNameSchema = z.string().trim().min(1).max(128);

export const createUsagePlanSchema = z.strictObject({
  name: planNameSchema,
  description: z.string().max(1024).optional(),
  apiIds: apiIdsSchema.describe("The APIs (ids) the plan's keys may call"),
  throttle: throttleSchema.optional(),
  quota: quotaSchema.optional(),
});
export type CreateUsagePlan = z.infer<typeof createUsagePlanSchema>;

/** Fields given are replaced; `null` removes a description, throttle or quota. */
export const updateUsagePlanSchema = z.strictObject({
  name: planNameSchema.optional(),
  description: z.string().max(1024).nullable().optional(),
  apiIds: apiIdsSchema.optional(),
  throttle: throttleSchema.nullable().optional(),
  quota: quotaSchema.nullable().optional(),
});
export type UpdateUsagePlan = z.infer<typeof updateUsagePlanSchema>;

export const usagePlanSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  apiIds: z.array(z.string()),
  throttle: z.object({ rateLimit: z.number(), burstLimit: z.number() }).nullable(),
  quota: z
    .object({ limit: z.number(), period: z.enum(quotaPeriods), offset: z.number() })
    .nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type UsagePlan = z.infer<typeof usagePlanSchema>;

/** As API Gateway's GetUsagePlans: `keyId` keeps the plans that key is attached to. */
export const listUsagePlansQuerySchema = paginationQuerySchema.extend({
  keyId: z.string().min(1).max(64).optional(),
});

export const usagePlanKeyBodySchema = z.strictObject({ keyId: z.string().min(1).max(64) });

export const usagePlanKeySchema = z.object({
  keyId: z.string(),
  name: z.string(),
  enabled: z.boolean(),
  prefix: z.string(),
  attachedAt: z.string(),
});
export type UsagePlanKey = z.infer<typeof usagePlanKeySchema>;

const dateSchema = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date, YYYY-MM-DD");

export const planUsageQuerySchema = z.strictObject({
  startDate: dateSchema,
  endDate: dateSchema,
  keyId: z.string().min(1).max(64).optional(),
});

/**
 * API Gateway's GetUsage shape: per key, one `[used, remaining]` pair per UTC day from
 * startDate to endDate; `remaining` is what the quota's period had left at the end of that day,
 * null without a quota.
 */
export const planUsageSchema = z.object({
  usagePlanId: z.string(),
  startDate: z.string(),
  endDate: z.string(),
  items: z.record(z.string(), z.array(z.tuple([z.number(), z.number().nullable()]))),
});
export type PlanUsage = z.infer<typeof planUsageSchema>;
