import { z } from "zod";
import { launchTypeSchema } from "./tasks.js";

/** GET /v1/usage */
export const usageQuerySchema = z
  .strictObject({
    /** ISO time; default the start of this month (UTC). */
    from: z.iso.datetime({ offset: true }).optional(),
    /** ISO time; default now. */
    to: z.iso.datetime({ offset: true }).optional(),
    groupBy: z.enum(["service", "task"]).default("service"),
  })
  .refine((query) => !query.from || !query.to || query.from < query.to, {
    message: "from must be before to",
    path: ["from"],
  });

export const usageAmountsSchema = z.object({
  vcpuSeconds: z.number(),
  gbSeconds: z.number(),
  cost: z.number(),
});

export const usageItemSchema = usageAmountsSchema.extend({
  /** The service's name (standalone tasks: `standalone/<family>`), or the task id. */
  key: z.string(),
  launchType: launchTypeSchema,
});
export type UsageItem = z.infer<typeof usageItemSchema>;

export const usageSchema = z.object({
  from: z.string(),
  to: z.string(),
  currency: z.literal("USD"),
  total: usageAmountsSchema,
  items: z.array(usageItemSchema),
});
export type Usage = z.infer<typeof usageSchema>;

/** The client's side of usageQuerySchema. */
export interface UsageQuery {
  /** ISO 8601 start, inclusive; the start of this month when absent. */
  from?: string;
  /** ISO 8601 end, exclusive; now when absent. */
  to?: string;
  groupBy?: "service" | "task";
}
