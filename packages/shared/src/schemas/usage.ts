import { z } from "zod";
import { launchTypeSchema } from "./tasks.js";

/** GET /v1/usage */
export const usageQuerySchema = z
  .strictObject({
    /** ISO time; default the start of this month (UTC). */
    from: z.iso.datetime({ offset: true }).optional(),
    /** ISO time; default now. */
    to: z.iso.datetime({ offset: true }).optional(),
    /** `function`: functions' requests and GB-seconds, Lambda's prices after the free tier. */
    groupBy: z.enum(["service", "task", "function"]).default("service"),
  })
  .refine((query) => !query.from || !query.to || query.from < query.to, {
    message: "from must be before to",
    path: ["from"],
  });

export const usageAmountsSchema = z.object({
  vcpuSeconds: z.number(),
  gbSeconds: z.number(),
  cost: z.number(),
  /** Functions only (groupBy=function): invocations billed, throttles excluded. */
  requests: z.number().optional(),
});

export const usageItemSchema = usageAmountsSchema.extend({
  /** The service's name (standalone tasks: `standalone/<family>`), the task id, or the function. */
  key: z.string(),
  /** `function` for a function's item (groupBy=function). */
  launchType: z.union([launchTypeSchema, z.literal("function")]),
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
  groupBy?: "service" | "task" | "function";
}
