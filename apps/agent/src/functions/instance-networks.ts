import { randomBytes } from "node:crypto";
import { labels } from "../container-runtime.js";
import { type EgressFence, sharedFence } from "../egress-fence.js";
import { type IsolationSettings, nextFreeSubnet } from "../isolation.js";
import { engineMessageOf, type InstanceEngine } from "./instance-engine.js";

/** The label that marks a function instance's container (its value: the instance id). */
export const instanceLabel = "skiff.function-instance";
/** The node whose agent made an instance network (never `skiff.node`: the reconciler's sweep). */
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

/** Default number of spare networks kept ready (SKIFF_FUNCTION_SPARE_NETWORKS). */
export const defaultSpareNetworks = 2;

/**
 * One /28 per instance from the operator's subnet pool, fenced like a fargate task's network,
 * and used by that one instance only (removed with it). Making and fencing one costs a few
 * hundred milliseconds of engine and iptables work (more on a busy node), so a few spare ones
 * are made ahead, in the background, and a cold start only takes one: it never waits for a
 * network unless starts come faster than the spares are replaced.
 *
 * Networks are made before their instance is known, so they are named and labelled for this
 * node only; which instance holds which is known to this process alone (a restarted agent
 * removes them all, as it removes the instances). They carry `skiff.task` too, so fargate
 * tasks' networks (task-networks.ts) and instances' never pick the same subnet; a race with
 * another allocator (the engine says the pool overlaps) just takes the next free one.
 */
export class InstanceNetworks {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly fence: EgressFence;
  private readonly spares: InstanceNetwork[] = [];
  /** Networks taken by an instance (name -> instance id). */
  private readonly taken = new Map<string, string>();
  /** Networks being made (names), so a leftovers sweep meanwhile keeps them. */
  private readonly making = new Set<string>();
  /** Starts waiting for a network (no spare was left), oldest first. */
  private readonly waiting: {
    resolve: (network: InstanceNetwork) => void;
    reject: (error: unknown) => void;
  }[] = [];
  private closed = false;

  constructor(
    private readonly nodeId: string,
    private readonly engine: InstanceEngine,
    private readonly settings: IsolationSettings,
    fence?: EgressFence,
    private readonly spareCount = defaultSpareNetworks,
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    this.fence = fence ?? sharedFence(settings.egress);
  }

  /**
   * A fenced network for this instance: a spare one when there is one (then another is made in
   * the background), else the next one made (a burst of starts waits for no more than its share).
   */
  async take(instanceId: string): Promise<InstanceNetwork> {
    const spare = this.spares.shift();
    let network: InstanceNetwork;
    if (spare) network = spare;
    else {
      const waited = new Promise<InstanceNetwork>((resolve, reject) =>
        this.waiting.push({ resolve, reject }),
      );
      this.fill();
      network = await waited;
    }
    this.taken.set(network.name, instanceId);
    this.fill();
    return network;
  }

  /**
   * Makes networks in the background until the spares and the starts waiting for one are
   * covered. A failure fails the oldest waiting start (none waiting: onError; the next take
   * retries).
   */
  fill(): void {
    const wanted = (this.closed ? 0 : this.spareCount) + this.waiting.length;
    const missing = wanted - this.spares.length - this.making.size;
    for (let index = 0; index < missing; index++) {
      this.make().then(
        (network) => {
          const waiter = this.waiting.shift();
          if (waiter) waiter.resolve(network);
          else if (this.closed) void this.remove(network).catch(() => {});
          else this.spares.push(network);
        },
        (error) => {
          const waiter = this.waiting.shift();
          if (waiter) waiter.reject(error);
          else this.onError(error);
        },
      );
    }
  }

  /** Resolves once no network is being made (tests, shutdown). */
  async settled(): Promise<void> {
    await this.queue;
  }

  /** Makes and fences a network; serialised so two never pick one subnet. */
  private make(): Promise<InstanceNetwork> {
    const name = `skiff-fnnet-${randomBytes(6).toString("hex")}`;
    this.making.add(name);
    const run = this.queue.then(async () => {
      for (let attempt = 0; ; attempt++) {
        const used = (await this.engine.networks(labels.task)).flatMap((network) =>
          network.subnet ? [network.subnet] : [],
        );
        // From the pool's far end: fargate tasks take theirs from the start, so the two
        // allocators, each serialised on its own, rarely reach for the same subnet at once.
        const subnet = nextFreeSubnet(this.settings.subnetPool, used, "end");
        if (!subnet) throw new Error(`no free /28 left in ${this.settings.subnetPool}`);
        const gateway = addressIn(subnet, 1);
        try {
          await this.engine.createNetwork(
            name,
            { [labels.task]: name, [instanceNodeLabel]: this.nodeId },
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
    const done = run.finally(() => this.making.delete(name));
    this.queue = done.catch(() => {});
    return done;
  }

  /** Removes an instance's network and its fence (never reused: one instance per network). */
  async remove(network: { name: string; subnet: string | undefined }): Promise<void> {
    this.taken.delete(network.name);
    await this.engine.removeNetwork(network.name);
    await this.fence.release(network.subnet);
  }

  /**
   * Removes this node's instance networks this process does not hold for an instance in `keep`
   * or as a spare (an agent restart: a former process's networks).
   */
  async removeExcept(keep: Set<string>): Promise<void> {
    const spares = new Set(this.spares.map((network) => network.name));
    for (const network of await this.engine.networks(`${instanceNodeLabel}=${this.nodeId}`)) {
      if (spares.has(network.name) || this.making.has(network.name)) continue;
      const holder = this.taken.get(network.name);
      if (holder && keep.has(holder)) continue;
      await this.remove(network).catch(() => {});
    }
  }

  /** Stops making spares and removes those left (agent shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    await this.settled();
    const spares = this.spares.splice(0);
    await Promise.all(spares.map((network) => this.remove(network).catch(() => {})));
  }

  /** How many spares are ready now (tests, metrics). */
  spareReady(): number {
    return this.spares.length;
  }
}
