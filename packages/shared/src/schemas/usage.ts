import { z } from "zod";

/** One row of metered usage: a service or a task, and what its seconds cost. */
export const usageItemSchema = z.object({
  key: z.string(),
  launchType: z.enum(["pool", "fargate"]),
  vcpuSeconds: z.number(),
  gbSeconds: z.number(),
  cost: z.number(),
});
export type UsageItem = z.infer<typeof usageItemSchema>;

/** GET /v1/usage?from=&to=&groupBy=service|task: fargate metering over a time range. */
export const usageSchema = z.object({
  from: z.string(),
  to: z.string(),
  currency: z.literal("USD"),
  total: z.object({ vcpuSeconds: z.number(), gbSeconds: z.number(), cost: z.number() }),
  items: z.array(usageItemSchema),
});
export type Usage = z.infer<typeof usageSchema>;

export interface UsageQuery {
  /** ISO 8601 start, inclusive. */
  from?: string;
  /** ISO 8601 end, exclusive. */
  to?: string;
  groupBy?: "service" | "task";
}
