import { type StatsPoint, statsPointSchema, type TaskUsage, type UsageSample } from "@skiff/shared";
import type { Redis } from "ioredis";

// Recent cpu and memory samples of nodes and tasks, for charts: a capped Redis list per subject,
// newest first, that expires when the subject stops reporting. Not an archive (metering is).
const maxPoints = 240;
const retentionSeconds = 60 * 60;

const nodeKey = (nodeId: string) => `stats:node:${nodeId}`;
const taskKey = (taskId: string) => `stats:task:${taskId}`;

/** Stores a heartbeat's samples: the node's own and each of its tasks'. */
export async function recordUsage(
  redis: Redis,
  nodeId: string,
  at: Date,
  node: UsageSample | undefined,
  tasks: TaskUsage[],
): Promise<void> {
  if (!node && tasks.length === 0) return;
  const time = at.toISOString();
  const batch = redis.multi();
  const push = (key: string, sample: UsageSample) => {
    const point: StatsPoint = { time, cpuPercent: sample.cpuPercent, memory: sample.memory };
    batch.lpush(key, JSON.stringify(point));
    batch.ltrim(key, 0, maxPoints - 1);
    batch.expire(key, retentionSeconds);
  };
  if (node) push(nodeKey(nodeId), node);
  for (const task of tasks) push(taskKey(task.taskId), task);
  await batch.exec();
}

export function readNodeStats(redis: Redis, nodeId: string): Promise<StatsPoint[]> {
  return readPoints(redis, nodeKey(nodeId));
}

export function readTaskStats(redis: Redis, taskId: string): Promise<StatsPoint[]> {
  return readPoints(redis, taskKey(taskId));
}

/** Oldest first. */
async function readPoints(redis: Redis, key: string): Promise<StatsPoint[]> {
  const points: StatsPoint[] = [];
  for (const raw of (await redis.lrange(key, 0, maxPoints - 1)).reverse()) {
    try {
      const parsed = statsPointSchema.safeParse(JSON.parse(raw));
      if (parsed.success) points.push(parsed.data);
    } catch {}
  }
  return points;
}
