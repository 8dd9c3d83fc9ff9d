import { labels } from "../container-runtime.js";
import { EgressFence } from "../egress-fence.js";
import { type IsolationSettings, nextFreeSubnet, taskNetworkName } from "../isolation.js";
import { engineMessageOf, type InstanceEngine } from "./instance-engine.js";

/** The label that marks a function instance's container and network (its value: the instance id). */
export const instanceLabel = "skiff.function-instance";
/** The node whose agent made an instance's network (never `skiff.node`: the reconciler's sweep). */
export const instanceNodeLabel = "skiff.function-node";

/** Where an instance sits: its network and the two addresses the Runtime API needs. */
export interface InstanceNetwork {
  name: string;
  subnet: string;
  /** The gateway: this node as the instance sees it (AWS_LAMBDA_RUNTIME_API's host). */
  gateway: string;
  /** The container's own address, fixed at create: who calls the Runtime API. */
  address: string;
}

function addressIn(subnet: string, offset: number): string {
  const [base = ""] = subnet.split("/");
  const parts = base.split(".").map(Number);
  parts[3] = (parts[3] ?? 0) + offset;
  return parts.join(".");
}

/**
 * One /28 per instance from the operator's subnet pool, fenced like a fargate task's network.
 * The networks carry `skiff.task` too, so fargate tasks' networks (task-networks.ts) and
 * instances' never pick the same subnet; a race with another allocator (the engine says the
 * pool overlaps) just takes the next free one.
 */
export class InstanceNetworks {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly fence: EgressFence;

  constructor(
    private readonly nodeId: string,
    private readonly engine: InstanceEngine,
    private readonly settings: IsolationSettings,
    fence?: EgressFence,
  ) {
    this.fence = fence ?? new EgressFence(settings.egress);
  }

  /** Makes and fences the instance's network; serialised so two starts never pick one subnet. */
  create(instanceId: string): Promise<InstanceNetwork> {
    const run = this.queue.then(async () => {
      const name = taskNetworkName(instanceId);
      for (let attempt = 0; ; attempt++) {
        const used = (await this.engine.networks(labelsTask)).flatMap((network) =>
          network.subnet ? [network.subnet] : [],
        );
        const subnet = nextFreeSubnet(this.settings.subnetPool, used);
        if (!subnet) throw new Error(`no free /28 left in ${this.settings.subnetPool}`);
        const gateway = addressIn(subnet, 1);
        try {
          await this.engine.createNetwork(
            name,
            {
              [labelsTask]: instanceId,
              [instanceLabel]: instanceId,
              [instanceNodeLabel]: this.nodeId,
            },
            subnet,
            gateway,
          );
        } catch (error) {
          if (attempt < 3 && /overlap/i.test(engineMessageOf(error))) continue;
          throw error;
        }
        try {
          await this.fence.apply(subnet);
        } catch (error) {
          await this.engine.removeNetwork(name).catch(() => {});
          throw new Error(`cannot fence the instance's network in: ${(error as Error).message}`);
        }
        return { name, subnet, gateway, address: addressIn(subnet, 2) };
      }
    });
    this.queue = run.catch(() => {});
    return run;
  }

  async remove(network: { name: string; subnet: string | undefined }): Promise<void> {
    await this.engine.removeNetwork(network.name);
    await this.fence.release(network.subnet);
  }

  /** Removes this node's instance networks whose instance is not in `keep` (agent restart). */
  async removeExcept(keep: Set<string>): Promise<void> {
    for (const network of await this.engine.networks(`${instanceNodeLabel}=${this.nodeId}`)) {
      const instanceId = network.labels[instanceLabel];
      if (instanceId && keep.has(instanceId)) continue;
      await this.remove(network).catch(() => {});
    }
  }
}

const labelsTask = labels.task;
