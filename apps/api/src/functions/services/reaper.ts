import type { FunctionsRuntime } from "./functions-runtime.js";
import type { InstanceRecord } from "./router.js";

export interface ReapResult {
  /** Instances stopped: idle too long, of an older revision, or of a deleted function. */
  stopped: string[];
  /** Leases of executions that ended without a release (a replica died), dropped. */
  healedLeases: number;
}

/**
 * One pass of the reaper (leader-locked, jobs/control-loops.ts): an idle instance past the idle
 * window, or of a revision that is no longer current, or of a deleted function, is taken out of
 * its idle set first (ZREM: whoever removes it owns it, so an acquire racing the reaper either
 * got it first or never sees it), then stopped at its agent and forgotten (its memory freed).
 * Busy instances are left alone: their release retires them if their revision is stale.
 */
export async function reapInstances(
  runtime: FunctionsRuntime,
  beforeEach: () => Promise<void> = async () => {},
): Promise<ReapResult> {
  const { router, directory, logger } = runtime;
  const now = runtime.clock.now().getTime();
  const stopped: string[] = [];
  const currentOf = new Map<string, { revision: number } | null>();
  const current = async (functionId: string) => {
    if (!currentOf.has(functionId)) {
      const fn = directory.getById ? await directory.getById(functionId) : undefined;
      currentOf.set(functionId, fn ? { revision: fn.revision } : null);
    }
    return currentOf.get(functionId);
  };
  for (const instance of await router.instances()) {
    if (instance.lastUsedMs === null) continue;
    const fn = await current(instance.functionId);
    const stale = !fn || fn.revision !== instance.revision;
    const idleTooLong = now - instance.lastUsedMs >= runtime.settings.idleMs;
    if (!stale && !idleTooLong) continue;
    await beforeEach();
    if (!(await router.claimIdle(instance.functionId, instance.revision, instance.instanceId)))
      continue;
    await stopInstance(runtime, instance).catch((error) =>
      logger.warn(
        { err: error, instance: instance.instanceId },
        "stopping an idle instance failed",
      ),
    );
    stopped.push(instance.instanceId);
  }
  const healedLeases = await router.healLeases();
  return { stopped, healedLeases };
}

/** Stops an instance this process owns (claimed from the idle set) and forgets it. */
async function stopInstance(runtime: FunctionsRuntime, instance: InstanceRecord): Promise<void> {
  try {
    const node = await runtime.nodes.node(instance.nodeId);
    // A node that is gone took its instances with it.
    if (node) await runtime.agents.stop(node, instance.instanceId);
  } finally {
    await runtime.router.forget(instance.instanceId);
  }
}

/**
 * Forgets the instances a node's heartbeat no longer lists (the agent stopped them on its own,
 * or lost them in a restart), so nothing routes to them and their memory is freed. Instances
 * registered in the last `graceMs` are kept: their start may not have reached the agent yet.
 */
export async function forgetUnlisted(
  runtime: FunctionsRuntime,
  nodeId: string,
  listed: string[],
  graceMs = 60_000,
): Promise<string[]> {
  const keep = new Set(listed);
  const now = runtime.clock.now().getTime();
  const forgotten: string[] = [];
  for (const instance of await runtime.router.instancesOfNode(nodeId)) {
    if (keep.has(instance.instanceId) || now - instance.startedMs < graceMs) continue;
    if (await runtime.router.forget(instance.instanceId)) forgotten.push(instance.instanceId);
  }
  return forgotten;
}
