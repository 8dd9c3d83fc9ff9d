import { ContainerRequestError, type ContainerRuntime, labels } from "./container-runtime.js";
import { type EgressFence, sharedFence } from "./egress-fence.js";
import { type IsolationSettings, nextFreeSubnet, taskNetworkName } from "./isolation.js";

/**
 * The per-task bridge networks of fargate tasks on one node. Each gets a /28 of the operator's
 * subnet pool (not one of Docker's default pools, which hold about thirty networks in all).
 * Creations are serialised so two tasks starting in one pass never pick the same subnet.
 */
export class TaskNetworks {
  private queue: Promise<unknown> = Promise.resolve();
  /** Until the first sweep: a restarted agent may find networks its tasks left. */
  private mayHaveNetworks = true;
  /** What the tasks may not reach beyond their network; follows each network's life. */
  private readonly fence: EgressFence;

  constructor(
    private readonly nodeId: string,
    private readonly runtime: ContainerRuntime,
    private readonly settings: IsolationSettings,
  ) {
    this.fence = sharedFence(settings.egress);
  }

  /** Makes the task's network unless it exists. */
  ensureFor(taskId: string): Promise<void> {
    const run = this.queue.then(async () => {
      // Function instances' networks come from the same pool, made by another allocator: a
      // subnet taken meanwhile (the engine says the pool overlaps) sends us to the next one.
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.make(taskId);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          if (attempt >= 3 || !/overlap/i.test(message)) throw error;
        }
      }
    });
    this.queue = run.catch(() => {});
    return run;
  }

  private async make(taskId: string): Promise<void> {
    // Every task network on the engine, other nodes' included: they share its address space.
    const all = await this.runtime.listNetworks({ [labels.task]: "" });
    this.mayHaveNetworks = true;
    const name = taskNetworkName(taskId);
    const existing = all.find((network) => network.name === name);
    // Fenced before any container joins; an existing network again (idempotent).
    if (existing) return this.fenceIn(existing.subnet ?? "");
    const used = all.flatMap((network) => (network.subnet ? [network.subnet] : []));
    const subnet = nextFreeSubnet(this.settings.subnetPool, used);
    if (!subnet) throw new Error(`no free /28 left in ${this.settings.subnetPool}`);
    await this.runtime.ensureNetwork(
      name,
      { [labels.node]: this.nodeId, [labels.task]: taskId },
      subnet,
    );
    await this.fenceIn(subnet);
  }

  /** The fence, or the task fails to start saying why: it never runs unfenced. */
  private async fenceIn(subnet: string): Promise<void> {
    try {
      await this.fence.apply(subnet);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ContainerRequestError(`cannot fence the task's network in: ${reason}`);
    }
  }

  /** Removes this node's task networks of tasks other than `keep`; retried next pass if busy. */
  async removeExcept(keep: Set<string>): Promise<void> {
    // Pool-only nodes never ask the engine again once a sweep found nothing to remove.
    if (!this.mayHaveNetworks) return;
    const mine = await this.runtime.listNetworks({ [labels.node]: this.nodeId });
    this.mayHaveNetworks = mine.length > 0;
    const kept: string[] = [];
    for (const network of mine) {
      const taskId = network.labels[labels.task];
      if (!taskId) continue;
      if (keep.has(taskId)) {
        if (network.subnet) kept.push(network.subnet);
        continue;
      }
      // A container still attached (being removed in this pass) makes the engine refuse.
      const removed = await this.runtime.removeNetwork(network.name).then(
        () => true,
        () => false,
      );
      if (removed) await this.fence.release(network.subnet);
    }
    // Fenced again after an agent restart, once each (rules a firewall reload dropped return).
    for (const subnet of kept) await this.fence.apply(subnet);
  }
}
