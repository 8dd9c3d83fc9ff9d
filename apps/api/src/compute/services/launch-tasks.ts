import type { Database } from "../../db/client.js";
import type { InstanceMemory } from "./placement-store.js";
import { placeTasks } from "./scheduler.js";
import { createTasks, type RunTaskInput } from "./tasks.js";

/** What a launch came to: the new tasks, the nodes to wake, why the others wait. */
export interface Launch {
  ids: string[];
  /** Nodes given a task: their agents must be woken (the caller batches the wake-ups). */
  placedOn: Set<string>;
  /** Why tasks that found no room wait in provisioning, each reason once. */
  waitReasons: Set<string>;
}

/**
 * Creates tasks and places them at once: the one flow behind `POST /v1/tasks` and the service
 * scheduler's launches. A task that finds no room stays in provisioning and the placement loop
 * retries it, so a launch never fails half-way for lack of capacity.
 */
export async function launchTasks(
  db: Database,
  input: RunTaskInput,
  extra: { service?: string; instanceMemory?: InstanceMemory } = {},
): Promise<Launch> {
  const ids = await createTasks(db, input, extra.service ? { service: extra.service } : {});
  const launch: Launch = { ids, placedOn: new Set(), waitReasons: new Set() };
  for (const result of (await placeTasks(db, ids, extra.instanceMemory)).values()) {
    if (result.placed) launch.placedOn.add(result.nodeId);
    else launch.waitReasons.add(result.reason);
  }
  return launch;
}
