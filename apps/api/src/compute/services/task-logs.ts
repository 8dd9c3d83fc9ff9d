import { type LogLine, logLineSchema } from "@skiff/shared";
import type { Redis } from "ioredis";
import { logChannel } from "./log-follows.js";

// A task's log lines live in one Redis stream, capped and expiring: logs are for looking at a
// task now and shortly after, not an archive.
const maxLinesPerTask = 5000;
const retentionSeconds = 7 * 24 * 60 * 60;

const logKey = (taskId: string) => `logs:${taskId}`;

/** A line with its stream entry id, the cursor to read on from. */
export interface StoredLogLine {
  id: string;
  line: LogLine;
}

/** Appends lines, oldest first, to a task's log, and keeps the log another retention period. */
export async function appendTaskLogs(redis: Redis, taskId: string, lines: LogLine[]) {
  if (lines.length === 0) return;
  const key = logKey(taskId);
  const batch = redis.multi();
  for (const line of lines)
    batch.xadd(key, "MAXLEN", "~", maxLinesPerTask, "*", "line", JSON.stringify(line));
  batch.expire(key, retentionSeconds);
  // Wakes the followers of this task on every api replica.
  batch.publish(logChannel(redis, taskId), "1");
  await batch.exec();
}

/** The last `tail` lines of a task's log, oldest first. */
export async function readTaskLogTail(
  redis: Redis,
  taskId: string,
  tail: number,
): Promise<StoredLogLine[]> {
  const entries = await redis.xrevrange(logKey(taskId), "+", "-", "COUNT", tail);
  return toLines(entries).reverse();
}

/**
 * Up to 1000 lines after entry `afterId` ("0" for all), oldest first; [] when there are none yet.
 * Does not wait: followers wait on LogFollowHub, so the shared connection is never blocked.
 */
export async function readTaskLogAfter(
  redis: Redis,
  taskId: string,
  afterId: string,
): Promise<StoredLogLine[]> {
  const answer = await redis.xread("COUNT", 1000, "STREAMS", logKey(taskId), afterId);
  return toLines(answer?.[0]?.[1] ?? []);
}

function toLines(entries: [id: string, fields: string[]][]): StoredLogLine[] {
  const lines: StoredLogLine[] = [];
  for (const [id, fields] of entries) {
    const at = fields.indexOf("line");
    const value = at < 0 ? undefined : fields[at + 1];
    if (value === undefined) continue;
    // Entries were validated on the way in; one that no longer parses is skipped, not fatal.
    try {
      const parsed = logLineSchema.safeParse(JSON.parse(value));
      if (parsed.success) lines.push({ id, line: parsed.data });
    } catch {}
  }
  return lines;
}
