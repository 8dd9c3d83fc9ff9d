import { type LogLine, logLineSchema } from "@skiff/shared";
import type { Redis } from "ioredis";
import { logChannel } from "./log-follows.js";

// A task's log lines live in one Redis stream, capped and expiring: logs are for looking at a
// task now and shortly after, not an archive. A function's lines use the same streams under
// the name `fn:<functionId>` (functions/services/function-logs.ts); followers wake on the
// stream's name through LogFollowHub either way.
const maxLinesPerStream = 5000;
const retentionSeconds = 7 * 24 * 60 * 60;

const logKey = (stream: string) => `logs:${stream}`;

/** A line with its stream entry id, the cursor to read on from. */
export interface StoredLogLine {
  id: string;
  line: LogLine;
}

/**
 * Appends lines, oldest first, to a log stream (a task's id, or `fn:<functionId>`), and keeps
 * the stream another retention period.
 */
export async function appendLogs(redis: Redis, stream: string, lines: LogLine[]) {
  if (lines.length === 0) return;
  const key = logKey(stream);
  const batch = redis.multi();
  for (const line of lines)
    batch.xadd(key, "MAXLEN", "~", maxLinesPerStream, "*", "line", JSON.stringify(line));
  batch.expire(key, retentionSeconds);
  // Wakes the followers of this stream on every api replica.
  batch.publish(logChannel(redis, stream), "1");
  await batch.exec();
}

/** Appends lines, oldest first, to a task's log. */
export const appendTaskLogs = appendLogs;

/** The last `tail` lines of a log stream, oldest first. */
export async function readLogTail(
  redis: Redis,
  stream: string,
  tail: number,
): Promise<StoredLogLine[]> {
  const entries = await redis.xrevrange(logKey(stream), "+", "-", "COUNT", tail);
  return toLines(entries).reverse();
}

/** The last `tail` lines of a task's log, oldest first. */
export const readTaskLogTail = readLogTail;

/**
 * Up to 1000 lines after entry `afterId` ("0" for all), oldest first; [] when there are none yet.
 * Does not wait: followers wait on LogFollowHub, so the shared connection is never blocked.
 */
export async function readLogAfter(
  redis: Redis,
  stream: string,
  afterId: string,
): Promise<StoredLogLine[]> {
  const answer = await redis.xread("COUNT", 1000, "STREAMS", logKey(stream), afterId);
  return toLines(answer?.[0]?.[1] ?? []);
}

export const readTaskLogAfter = readLogAfter;

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
