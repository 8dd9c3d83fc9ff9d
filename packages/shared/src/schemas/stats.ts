import { z } from "zod";

/** One sample of a node's or a task's usage. */
export const statsPointSchema = z.object({
  time: z.string(),
  /** Percent of one core (a task using two whole cores is at 200). */
  cpuPercent: z.number(),
  /** MiB in use. */
  memory: z.number(),
});
export type StatsPoint = z.infer<typeof statsPointSchema>;

/** GET /v1/nodes/{id}/stats and GET /v1/tasks/{id}/stats: the last ~10 minutes, oldest first. */
export const statsSchema = z.object({ points: z.array(statsPointSchema) });
export type Stats = z.infer<typeof statsSchema>;
