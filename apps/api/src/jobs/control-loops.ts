import { markLostNodes } from "../compute/services/nodes.js";
import { placeTasks } from "../compute/services/scheduler.js";
import { reconcileService } from "../compute/services/service-scheduler.js";
import { listServiceNames } from "../compute/services/services.js";
import { removeStoppedTasksBefore } from "../compute/services/task-retention.js";
import { findUnplacedTaskIds, releaseDrainedTasks } from "../compute/services/tasks.js";
import {
  CapacityProvider,
  type CapacityProviderOptions,
} from "../fargate/services/capacity-provider.js";
import { reapInstances } from "../functions/services/reaper.js";
import { instanceMemoryOn } from "../functions/services/router.js";
import { LeaderLoop } from "../lib/leader-lock.js";
import type { Services } from "../services.js";

/** The fargate capacity loop's part of its options that comes from configuration. */
export type CapacitySettings = Omit<CapacityProviderOptions, "db" | "redis" | "clock" | "logger">;

export interface ControlLoopOptions {
  /** A node silent for this long is down. */
  nodeDownAfterMs: number;
  intervalMs?: number;
  /** Runs the fargate capacity loop when set (an operator's provisioner is configured). */
  capacity?: CapacitySettings | undefined;
  /** Stopped tasks are kept this long, then removed (their usage kept apart); 1 hour by default. */
  stoppedTaskRetentionMs?: number;
  /** How often idle function instances are looked for; 5 s by default. */
  functionReapIntervalMs?: number;
}

/**
 * The control plane's loops, each on one replica at a time: nodes that stopped heartbeating go
 * down (their tasks stop with NodeLost), tasks waiting for room are placed once it appears, and
 * services are kept at their desired count and rolled out.
 */
export function createControlLoops(services: Services, options: ControlLoopOptions): LeaderLoop[] {
  const { db, redis, logger, clock, notifier } = services;
  const intervalMs = options.intervalMs ?? 1_000;
  const instanceMemory = (nodeIds: string[]) => instanceMemoryOn(redis, nodeIds);
  const nodeMonitor = new LeaderLoop({
    redis,
    logger,
    name: "node-monitor",
    intervalMs,
    run: async (lease) => {
      await lease.check();
      const lost = await markLostNodes(db, redis, clock.now(), options.nodeDownAfterMs);
      if (lost.length > 0) {
        logger.warn(
          { nodes: lost },
          "nodes missed their heartbeats and are down; their tasks stopped",
        );
        await notifier.notify(lost);
      }
    },
  });
  const placer = new LeaderLoop({
    redis,
    logger,
    name: "task-placer",
    intervalMs,
    run: async (lease) => {
      const placedOn: string[] = [];
      const unplaced = await findUnplacedTaskIds(db, 500);
      await lease.check();
      for (const result of (await placeTasks(db, unplaced, instanceMemory)).values())
        if (result.placed) placedOn.push(result.nodeId);
      await lease.check();
      placedOn.push(...(await releaseDrainedTasks(db, clock.now())));
      await notifier.notify(placedOn);
    },
  });
  const serviceScheduler = new LeaderLoop({
    redis,
    logger,
    name: "service-scheduler",
    intervalMs,
    run: async (lease) => {
      for (const name of await listServiceNames(db)) {
        // Outside the try: a lost lease ends the pass, it is not one service's failure.
        await lease.check();
        try {
          await notifier.notify(await reconcileService(db, name, clock.now(), instanceMemory));
        } catch (error) {
          // One broken service must not hold up the others.
          logger.error({ err: error, service: name }, "service reconcile failed");
        }
      }
    },
  });
  notifier.onServiceChange(() => serviceScheduler.wake());
  const retentionMs = options.stoppedTaskRetentionMs ?? 3_600_000;
  const taskRetention = new LeaderLoop({
    redis,
    logger,
    name: "task-retention",
    // Often enough that the history stays near the window, rarely enough to cost nothing.
    intervalMs: Math.max(intervalMs, Math.min(60_000, retentionMs)),
    run: async (lease) => {
      const cutoff = new Date(clock.now().getTime() - retentionMs);
      const removed = await removeStoppedTasksBefore(db, cutoff, {
        beforeBatch: () => lease.check(),
      });
      if (removed > 0) logger.info({ removed }, "removed stopped tasks past their retention");
    },
  });
  const functionReaper = new LeaderLoop({
    redis,
    logger,
    name: "function-reaper",
    intervalMs: options.functionReapIntervalMs ?? 5_000,
    run: async (lease) => {
      const { stopped, healedLeases } = await reapInstances(services.functions, () =>
        lease.check(),
      );
      if (stopped.length > 0 || healedLeases > 0)
        logger.info({ stopped, healedLeases }, "reaped function instances");
    },
  });
  // A deleted or changed function's idle instances stop within seconds, not at the next tick.
  services.functions.onChange(() => functionReaper.wake());
  const loops = [nodeMonitor, placer, serviceScheduler, functionReaper, taskRetention];
  if (options.capacity) {
    const provider = new CapacityProvider({ db, redis, clock, logger, ...options.capacity });
    loops.push(
      new LeaderLoop({
        redis,
        logger,
        name: "fargate-capacity",
        intervalMs: Math.max(intervalMs, 2_000),
        run: (lease) => provider.run(lease),
      }),
    );
  }
  return loops;
}
