import type { Database } from "../../db/client.js";
import { isPlainBinpack, placeBinpackBatch } from "./binpack-batch.js";
import { BatchOutcome, type InstanceMemory, lockUnplaced } from "./placement-store.js";
import { placeOnWholePool } from "./pool-placement.js";

export type PlaceResult = { placed: true; nodeId: string } | { placed: false; reason: string };

/** How many tasks one placement transaction takes at most. */
const batchSize = 1_000;

/**
 * Places unplaced tasks, returning what became of each (nothing for a task another placement
 * holds, or one already placed or stopped). Two short transactions per batch, each a handful of
 * statements whatever the number of tasks:
 * 1. plain binpack tasks on the fullest nodes no other placement holds (binpack-batch.ts): it
 *    never waits, so concurrent placements (requests, replicas) fill different nodes side by side;
 * 2. the rest, and any plain task that found no free node, with the whole pool in view
 *    (pool-placement.ts), which waits for nodes others hold and names why a task must wait.
 * They are separate transactions so that no placement holds nodes while it waits for others.
 * Either way each node is written under its row lock, so none is ever over-committed.
 * `instanceMemory` counts what function instances hold on the nodes (fargate's, which they share).
 */
export async function placeTasks(
  db: Database,
  taskIds: string[],
  instanceMemory?: InstanceMemory,
): Promise<Map<string, PlaceResult>> {
  const results = new Map<string, PlaceResult>();
  for (let start = 0; start < taskIds.length; start += batchSize) {
    const chunk = taskIds.slice(start, start + batchSize);
    const fast = await db.transaction(async (tx) => {
      const outcome = new BatchOutcome();
      const rows = await lockUnplaced(tx, chunk);
      await placeBinpackBatch(tx, rows.filter(isPlainBinpack), outcome, instanceMemory);
      return { outcome, left: rows.filter((task) => !outcome.placedOn.has(task.id)) };
    });
    const slow = new BatchOutcome();
    const reasons =
      fast.left.length === 0
        ? new Map<string, string>()
        : await db.transaction(async (tx) =>
            placeOnWholePool(
              tx,
              await lockUnplaced(
                tx,
                fast.left.map((task) => task.id),
              ),
              slow,
              instanceMemory,
            ),
          );
    for (const { placedOn } of [fast.outcome, slow])
      for (const [taskId, nodeId] of placedOn) results.set(taskId, { placed: true, nodeId });
    for (const [taskId, reason] of reasons) results.set(taskId, { placed: false, reason });
  }
  return results;
}
