/** A live task of a service, as the service scheduler sees it. */
export interface PlannedTask {
  id: string;
  /** Of the primary deployment's revision. */
  primary: boolean;
  running: boolean;
  /** Running and passing its health checks (or running, when it has none). */
  healthy: boolean;
  /** Its health checks failed: it is replaced. */
  unhealthy: boolean;
  /** On a draining node: it is moved elsewhere like a task of an old revision. */
  onDrainingNode: boolean;
}

export interface PlanInput {
  desiredCount: number;
  minimumHealthyPercent: number;
  maximumPercent: number;
  /** The service's tasks that are not stopped and not already asked to stop. */
  tasks: PlannedTask[];
}

export interface Plan {
  launch: number;
  stop: { id: string; reason: string }[];
}

/**
 * One step of a service toward `desiredCount` healthy tasks of its primary revision, ECS style:
 * never more than maximumPercent of desiredCount tasks, never (by its own hand) fewer than
 * minimumHealthyPercent healthy ones. Old-revision tasks and tasks on draining nodes are replaced;
 * unhealthy ones are stopped. Pure: the caller applies the plan and calls again next pass.
 */
export function planService(input: PlanInput): Plan {
  const { desiredCount } = input;
  const maxTotal = Math.floor((desiredCount * input.maximumPercent) / 100);
  const minHealthy = Math.ceil((desiredCount * input.minimumHealthyPercent) / 100);
  const stop: Plan["stop"] = [];
  const stopping = new Set<string>();
  const stopTask = (id: string, reason: string) => {
    stop.push({ id, reason });
    stopping.add(id);
  };

  for (const task of input.tasks)
    if (task.unhealthy) stopTask(task.id, "task failed its health checks");
  const live = () => input.tasks.filter((task) => !stopping.has(task.id));
  const isCurrent = (task: PlannedTask) => task.primary && !task.onDrainingNode;

  // Too many of the current revision: stop the ones doing the least first.
  const current = live().filter(isCurrent);
  if (current.length > desiredCount) {
    const byUsefulness = [...current].sort(
      (a, b) => Number(a.healthy) - Number(b.healthy) || Number(a.running) - Number(b.running),
    );
    for (const task of byUsefulness.slice(0, current.length - desiredCount))
      stopTask(task.id, "scaling down");
  }

  // Outgoing tasks go as long as enough healthy ones remain; those serving nothing go first.
  const outgoing = live()
    .filter((task) => !isCurrent(task))
    .sort((a, b) => Number(a.healthy) - Number(b.healthy));
  let healthy = live().filter((task) => task.healthy).length;
  for (const task of outgoing) {
    const reason = task.onDrainingNode ? "its node is draining" : "replaced by a new deployment";
    if (!task.healthy) stopTask(task.id, reason);
    else if (healthy - 1 >= minHealthy) {
      stopTask(task.id, reason);
      healthy--;
    }
  }

  const remaining = live();
  const missing = desiredCount - remaining.filter(isCurrent).length;
  const room = maxTotal - remaining.length;
  return { launch: Math.max(0, Math.min(missing, room)), stop };
}
