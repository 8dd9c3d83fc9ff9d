import type { Redis } from "ioredis";
import type { Logger } from "../../lib/logger.js";
import { channelOf } from "../../lib/redis.js";

const assignmentsChannel = "skiff:assignments:";
/** The service scheduler runs a pass at once on a message here, not at its next tick. */
const servicesChannel = "skiff:services";
/** Gateways reload their load balancer targets on a message here. */
export const targetsChannel = "skiff:targets";

/**
 * Wakes agents' long polls when their node's assignments change, across api replicas: a change
 * is published on Redis; every replica holds one subscriber connection and wakes its local waiters.
 *
 * A wake-up is never the only way work gets found: long polls time out and read the database,
 * and the control loops tick. So a failed publish (Redis down) is logged, not thrown: the write
 * it follows has happened, and answering 500 for it would report a change as failed that stands.
 */
export class AssignmentNotifier {
  private readonly waiters = new Map<string, Set<() => void>>();
  private subscriber: Redis | undefined;
  private readonly serviceListeners = new Set<() => void>();
  private readonly channels: { assignments: string; services: string; targets: string };

  constructor(
    private readonly redis: Redis,
    private readonly logger?: Logger,
  ) {
    this.channels = {
      assignments: channelOf(redis, assignmentsChannel),
      services: channelOf(redis, servicesChannel),
      targets: channelOf(redis, targetsChannel),
    };
  }

  async start(): Promise<void> {
    this.subscriber = this.redis.duplicate();
    this.subscriber.on("error", () => {});
    this.subscriber.on("pmessage", (_pattern, channel: string) => {
      this.wakeNode(channel.slice(this.channels.assignments.length));
    });
    this.subscriber.on("message", (channel: string) => {
      if (channel === this.channels.services) this.wakeServiceListeners();
    });
    await this.subscriber.psubscribe(`${this.channels.assignments}*`);
    await this.subscriber.subscribe(this.channels.services);
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
    const nodes = new Set(nodeIds);
    try {
      // One round trip to Redis whatever the number of nodes.
      const publishes = this.redis.pipeline();
      for (const nodeId of nodes) publishes.publish(`${this.channels.assignments}${nodeId}`, "1");
      publishes.publish(this.channels.targets, "1");
      const results = (await publishes.exec()) ?? [];
      const failed = results.find(([error]) => error)?.[0];
      if (failed) throw failed;
    } catch (error) {
      this.logger?.warn(
        { err: (error as Error).message, nodes: [...nodes] },
        "could not publish an assignment change on Redis; agents see it at their next poll",
      );
      // This replica's own waiters at least need no Redis.
      for (const nodeId of nodes) this.wakeNode(nodeId);
    }
  }

  /** Tells every replica a service was created or changed, so its scheduler acts at once. */
  async serviceChanged(): Promise<void> {
    try {
      await this.redis.publish(this.channels.services, "1");
    } catch (error) {
      this.logger?.warn(
        { err: (error as Error).message },
        "could not publish a service change on Redis; the service scheduler's next tick acts on it",
      );
      this.wakeServiceListeners();
    }
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

  private wakeNode(nodeId: string): void {
    for (const wake of this.waiters.get(nodeId) ?? []) wake();
  }

  private wakeServiceListeners(): void {
    for (const listener of this.serviceListeners) listener();
  }
}
