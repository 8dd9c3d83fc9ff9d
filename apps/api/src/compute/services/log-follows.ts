import type { Redis } from "ioredis";
import { ApiError } from "../../lib/errors.js";
import type { Logger } from "../../lib/logger.js";
import { channelOf } from "../../lib/redis.js";

/**
 * Agents publish here after appending lines to a task's log; followers wake on it. Under the
 * connection's SKIFF_REDIS_PREFIX, so installs sharing a Redis do not wake each other's.
 */
export const logChannel = (redis: Redis, taskId: string) =>
  channelOf(redis, `skiff:logs:${taskId}`);

export interface LogFollowLimits {
  /** Follow streams one API token may hold open at once on this process. */
  perToken: number;
  /** Follow streams this process serves at once, all tokens together. */
  total: number;
}

/** A follower's place, held while its stream is open; give it back once. */
export interface LogFollower {
  /**
   * A promise that resolves when the task's log grows, or after `timeoutMs`. Take it before
   * reading the log, so a line shipped between the read and the wait is not missed.
   */
  nextLines(timeoutMs: number): { grown: Promise<void>; cancel(): void };
  /** True once the hub is closing (the process shuts down): end the stream now. */
  readonly ended: boolean;
  release(): Promise<void>;
}

/**
 * Log followers of one api process: caps how many streams are open (per token and in total), and
 * wakes them when their task's log grows. One Redis connection subscribes for all of them, to the
 * channels of the tasks someone follows, instead of one blocking XREAD connection per follower:
 * a thousand followers cost one connection, not a thousand.
 */
export class LogFollowHub {
  private subscriber: Redis | undefined;
  /**
   * Per followed task: its followers' wake-ups, how many follow it, and its SUBSCRIBE, which every
   * follower awaits (not only the first): a second follower that did not could read the log, miss
   * a line published before the subscription took, and wait for nothing.
   */
  private readonly tasks = new Map<
    string,
    { followers: number; waiters: Set<() => void>; subscribed: Promise<unknown> }
  >();
  private readonly byToken = new Map<string, number>();
  private open = 0;
  private closing = false;

  constructor(
    private readonly redis: Redis,
    readonly limits: LogFollowLimits,
    private readonly logger?: Logger,
  ) {}

  async start(): Promise<void> {
    this.subscriber = this.redis.duplicate();
    // ioredis reconnects by itself; say so, or followers silently stop waking while it is down.
    this.subscriber.on("error", (error: Error) => {
      this.logger?.warn({ err: error }, "log follow subscriber: Redis connection error");
    });
    this.subscriber.on("message", (channel: string) => {
      const task = this.tasks.get(channel.slice(logChannel(this.redis, "").length));
      for (const wake of [...(task?.waiters ?? [])]) wake();
    });
  }

  /**
   * Ends every open stream at once and refuses new ones: called on shutdown before the HTTP server
   * closes, which would otherwise wait its whole timeout for streams that never end by themselves.
   */
  close(): void {
    this.closing = true;
    for (const task of this.tasks.values()) for (const wake of [...task.waiters]) wake();
  }

  async stop(): Promise<void> {
    this.close();
    this.subscriber?.disconnect();
  }

  /** Streams open now. */
  get openStreams(): number {
    return this.open;
  }

  /**
   * Takes a place for a new stream of `tokenId` following `taskId`: TooManyRequests past either
   * cap. Resolves once this process listens for the task's new lines.
   */
  async follow(tokenId: string, taskId: string): Promise<LogFollower> {
    if (this.closing)
      throw new ApiError("ServiceUnavailable", "this server is shutting down; follow again");
    const held = this.byToken.get(tokenId) ?? 0;
    if (held >= this.limits.perToken) {
      throw new ApiError(
        "TooManyRequests",
        `this token already follows ${held} task logs, the most it may at once; close one first`,
      );
    }
    if (this.open >= this.limits.total) {
      throw new ApiError(
        "TooManyRequests",
        `this server follows ${this.open} task logs, the most it may at once; try again later`,
      );
    }
    this.byToken.set(tokenId, held + 1);
    this.open++;
    let task = this.tasks.get(taskId);
    if (!task) {
      // Subscribed before the first read: a line shipped after that read always wakes us.
      const subscribed =
        this.subscriber?.subscribe(logChannel(this.redis, taskId)) ?? Promise.resolve();
      // Awaited below by each follower; this keeps a failure from being unhandled meanwhile.
      subscribed.catch(() => {});
      task = { followers: 0, waiters: new Set(), subscribed };
      this.tasks.set(taskId, task);
    }
    task.followers++;
    const own = task;
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      this.open--;
      const left = (this.byToken.get(tokenId) ?? 1) - 1;
      if (left > 0) this.byToken.set(tokenId, left);
      else this.byToken.delete(tokenId);
      own.followers--;
      if (own.followers === 0 && this.tasks.get(taskId) === own) {
        this.tasks.delete(taskId);
        await this.subscriber?.unsubscribe(logChannel(this.redis, taskId)).catch(() => {});
      }
    };
    try {
      await own.subscribed;
    } catch (error) {
      // The next follower of this task tries again rather than await a failed subscription.
      if (this.tasks.get(taskId) === own) this.tasks.delete(taskId);
      await release();
      throw error;
    }
    const closing = () => this.closing;
    return {
      release,
      get ended() {
        return closing();
      },
      nextLines: (timeoutMs) => {
        let wake = () => {};
        const grown = new Promise<void>((done) => {
          const timer = setTimeout(() => wake(), timeoutMs);
          wake = () => {
            clearTimeout(timer);
            own.waiters.delete(wake);
            done();
          };
          own.waiters.add(wake);
          if (closing()) wake();
        });
        return { grown, cancel: () => wake() };
      },
    };
  }
}
