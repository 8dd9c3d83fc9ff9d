import { z } from "zod";

/**
 * One resource sample. A node's `cpuPercent` is of the whole host (0-100); a task's is of one
 * core, as `docker stats` shows it (a task busy on two cores reads 200). Memory in MiB.
 */
export const usageSampleSchema = z.strictObject({
  cpuPercent: z.number().min(0).max(100_000),
  memory: z
    .number()
    .min(0)
    .max(64 * 1024 * 1024),
});
export type UsageSample = z.infer<typeof usageSampleSchema>;

/** A task's sample in a heartbeat: its containers added up. */
export const taskUsageSchema = usageSampleSchema.extend({ taskId: z.string().max(64) });
export type TaskUsage = z.infer<typeof taskUsageSchema>;

export const statsPointSchema = z.object({
  time: z.string(),
  cpuPercent: z.number(),
  memory: z.number(),
});
export type StatsPoint = z.infer<typeof statsPointSchema>;

/** GET /v1/nodes/{id}/stats and /v1/tasks/{id}/stats: recent samples, oldest first. */
export const statsSchema = z.object({ points: z.array(statsPointSchema) });
export type Stats = z.infer<typeof statsSchema>;
