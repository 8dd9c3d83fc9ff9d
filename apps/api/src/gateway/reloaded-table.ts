import type { Redis } from "ioredis";
import type { Logger } from "../lib/logger.js";
import { channelOf } from "../lib/redis.js";

export interface ReloadedTableOptions<T> {
  redis: Redis;
  /** The pub/sub channel the control routes publish a change on (prefixed as keys are). */
  channel: string;
  logger: Logger;
  /** Reads the whole table (from PostgreSQL). */
  load(): Promise<T>;
  /** The table before the first load. */
  initial: T;
  /** Names what is loaded, in log lines. */
  what: string;
  /** A reload this often too, in case a change message was lost. */
  refreshMs: number;
  /** Called after each load. */
  onLoad?: (value: T) => void;
}

/**
 * A gateway table kept in memory so no request touches the database: loaded whole at start,
 * again whenever the api publishes a change (every gateway process hears it), and every few
 * seconds in case a message was lost. A failed load keeps the last table.
 */
export class ReloadedTable<T> {
  private value: T;
  private subscriber: Redis | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;
  private again = false;

  constructor(private readonly options: ReloadedTableOptions<T>) {
    this.value = options.initial;
  }

  get current(): T {
    return this.value;
  }

  async start(): Promise<void> {
    const { redis, logger, what } = this.options;
    this.subscriber = redis.duplicate();
    this.subscriber.on("error", (error) =>
      logger.warn({ err: error.message }, `gateway ${what} subscriber error`),
    );
    this.subscriber.on("message", () => void this.reload());
    await this.subscriber.subscribe(channelOf(redis, this.options.channel));
    await this.reload();
    this.timer = setInterval(() => void this.reload(), this.options.refreshMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.subscriber?.disconnect();
    await this.reloading;
  }

  /** Reloads now; a change announced during a reload triggers one more, never two at once. */
  reload(): Promise<void> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.again = false;
        try {
          this.value = await this.options.load();
          this.options.onLoad?.(this.value);
        } catch (error) {
          this.options.logger.error(
            { err: error },
            `loading ${this.options.what} failed; keeping the last ones`,
          );
        }
      } while (this.again);
    })().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }
}
