import type { Redis } from "ioredis";

const channelPrefix = "skiff:assignments:";
/** The service scheduler runs a pass at once on a message here, not at its next tick. */
const servicesChannel = "skiff:services";
/** Gateways reload their load balancer targets on a message here. */
export const targetsChannel = "skiff:targets";

/**
 * Wakes agents' long polls when their node's assignments change, across api replicas: a change
 * is published on Redis; every replica holds one subscriber connection and wakes its local waiters.
 */
export class AssignmentNotifier {
  private readonly waiters = new Map<string, Set<() => void>>();
  private subscriber: Redis | undefined;
  private readonly serviceListeners = new Set<() => void>();

  constructor(private readonly redis: Redis) {}

  async start(): Promise<void> {
    this.subscriber = this.redis.duplicate();
    this.subscriber.on("error", () => {});
    this.subscriber.on("pmessage", (_pattern, channel: string) => {
      const nodeId = channel.slice(channelPrefix.length);
      for (const wake of this.waiters.get(nodeId) ?? []) wake();
    });
    this.subscriber.on("message", (channel: string) => {
      if (channel === servicesChannel) for (const listener of this.serviceListeners) listener();
    });
    await this.subscriber.psubscribe(`${channelPrefix}*`);
    await this.subscriber.subscribe(servicesChannel);
  }

  async stop(): Promise<void> {
    for (const waiters of this.waiters.values()) for (const wake of waiters) wake();
    this.subscriber?.disconnect();
  }

  /**
   * Wakes the long polls of these nodes, and tells gateways to reload their targets: every change
   * of a node's assignments is a change of task states the load balancer may route by.
   */
  async notify(nodeIds: Iterable<string>): Promise<void> {
    // One round trip to Redis whatever the number of nodes.
    const publishes = this.redis.pipeline();
    for (const nodeId of new Set(nodeIds)) publishes.publish(`${channelPrefix}${nodeId}`, "1");
    publishes.publish(targetsChannel, "1");
    await publishes.exec();
  }

  /** Tells every replica a service was created or changed, so its scheduler acts at once. */
  async serviceChanged(): Promise<void> {
    await this.redis.publish(servicesChannel, "1");
  }

  onServiceChange(listener: () => void): void {
    this.serviceListeners.add(listener);
  }

  /**
   * A promise that resolves on the next change of `nodeId`'s assignments, or after `timeoutMs`.
   * Take it before reading the database, so a change between the read and the wait is not missed.
   */
  nextChange(nodeId: string, timeoutMs: number): { changed: Promise<void>; cancel(): void } {
    let wake = () => {};
    const changed = new Promise<void>((done) => {
      const waiters = this.waiters.get(nodeId) ?? new Set();
      this.waiters.set(nodeId, waiters);
      wake = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        if (waiters.size === 0) this.waiters.delete(nodeId);
        done();
      };
      const timer = setTimeout(wake, timeoutMs);
      waiters.add(wake);
    });
    return { changed, cancel: () => wake() };
  }
}
