import type { LogLine } from "@skiff/shared";
import type { Redis } from "ioredis";
import { appendLogs } from "../../compute/services/task-logs.js";

/**
 * A function's log stream (all its instances, START/END/REPORT lines included): the task logs'
 * Redis streams and follow wake-ups under this name, so the two never collide (`fn_` ids).
 */
export const functionLogStream = (functionId: string) => `fn:${functionId}`;

export async function appendFunctionLogs(
  redis: Redis,
  functionId: string,
  lines: LogLine[],
): Promise<void> {
  await appendLogs(redis, functionLogStream(functionId), lines);
}
