import { z } from "zod";

/** One line a task's container wrote, as its agent read it from the container runtime. */
export const logLineSchema = z.object({
  /** The container's name in the task definition. */
  container: z.string().max(255),
  stream: z.enum(["stdout", "stderr"]),
  /** When the runtime saw the line (ISO 8601, down to the nanosecond when the runtime says so). */
  time: z.string().max(64),
  text: z.string().max(8192),
});
export type LogLine = z.infer<typeof logLineSchema>;

/** POST /v1/agent/nodes/{id}/tasks/{taskId}/logs: a batch of a task's lines, oldest first. */
export const shipLogsSchema = z.strictObject({
  lines: z.array(logLineSchema).max(1000),
});
export type ShipLogs = z.infer<typeof shipLogsSchema>;

/** GET /v1/tasks/{id}/logs without follow: the last lines, oldest first. */
export const taskLogsSchema = z.object({ lines: z.array(logLineSchema) });
export type TaskLogs = z.infer<typeof taskLogsSchema>;

/** GET /v1/tasks/{id}/logs */
export const taskLogsQuerySchema = z.object({
  /** How many of the last lines to answer with (then follow from). */
  tail: z.coerce.number().int().min(1).max(5000).default(100),
  /** Answer with a `text/event-stream` of the tail and then new lines until the task stops. */
  follow: z.stringbool().default(false),
});
