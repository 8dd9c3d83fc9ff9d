import { sql } from "drizzle-orm";
import type { Database } from "../../db/client.js";
import { functionInvocations, functionUsage } from "../../db/schema/index.js";
import type { Logger } from "../../lib/logger.js";

/** One invocation's metered outcome (a throttle is one too: it counts, it is not billed). */
export interface InvocationRecord {
  functionId: string;
  functionName: string;
  at: Date;
  throttled?: boolean;
  error?: boolean;
  /** memory (MB) x billed duration (ms). */
  billedMbMs?: number;
  durationMs?: number;
}

export type EventStatus = "queued" | "running" | "retrying" | "succeeded" | "failed";

/** An Event invocation's state, the latest of which wins. */
export interface EventRecord {
  requestId: string;
  functionId: string;
  status: EventStatus;
  attempts: number;
  error: string | null;
  enqueuedAt: Date;
  finishedAt: Date | null;
}

// Replicas flush independently: a "running" written by one may reach PostgreSQL before the
// "queued" written by another. The row keeps the furthest state: attempts first, then this rank.
const rank: Record<EventStatus, number> = {
  queued: 0,
  running: 1,
  retrying: 2,
  succeeded: 3,
  failed: 3,
};

interface UsageSum {
  functionId: string;
  functionName: string;
  hour: Date;
  requests: number;
  errors: number;
  throttles: number;
  billedMbMs: number;
  durationMs: number;
}

/**
 * Invocations' outcomes, gathered in memory and written to PostgreSQL in one batch a second
 * (and at shutdown): the invoke path never waits on PostgreSQL. Sums per function and hour go
 * to `function_usage`, Event invocations' states to `function_invocations`, both as upserts
 * that add to what other replicas wrote.
 */
export class InvocationRecorder {
  private usage = new Map<string, UsageSum>();
  private events = new Map<string, EventRecord>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly options: { intervalMs?: number; logger?: Logger } = {},
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.flush().catch((error) =>
        this.options.logger?.warn(
          { err: error },
          "function usage flush failed; kept for the next one",
        ),
      );
    }, this.options.intervalMs ?? 1_000);
    this.timer.unref();
  }

  /** Stops the timer and writes what is left. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  record(outcome: InvocationRecord): void {
    const hour = new Date(Math.floor(outcome.at.getTime() / 3_600_000) * 3_600_000);
    const key = `${outcome.functionId} ${hour.getTime()}`;
    let sum = this.usage.get(key);
    if (!sum) {
      sum = {
        functionId: outcome.functionId,
        functionName: outcome.functionName,
        hour,
        requests: 0,
        errors: 0,
        throttles: 0,
        billedMbMs: 0,
        durationMs: 0,
      };
      this.usage.set(key, sum);
    }
    // Lambda counts a throttled request as neither invoked nor billed.
    if (outcome.throttled) {
      sum.throttles++;
      return;
    }
    sum.requests++;
    if (outcome.error) sum.errors++;
    sum.billedMbMs += Math.round(outcome.billedMbMs ?? 0);
    sum.durationMs += Math.round(outcome.durationMs ?? 0);
  }

  recordEvent(event: EventRecord): void {
    const known = this.events.get(event.requestId);
    if (known && order(known) > order(event)) return;
    this.events.set(event.requestId, event);
  }

  /** Writes the batch; a failed write keeps it for the next flush. One flush at a time. */
  flush(): Promise<void> {
    // A failed write keeps its batch for the next flush: it must not stop the flushes after it.
    const writing = this.flushing.catch(() => {}).then(() => this.write());
    this.flushing = writing;
    return writing;
  }

  private async write(): Promise<void> {
    const usage = [...this.usage.values()];
    const events = [...this.events.values()];
    if (usage.length === 0 && events.length === 0) return;
    this.usage = new Map();
    this.events = new Map();
    try {
      if (usage.length > 0) {
        await this.db
          .insert(functionUsage)
          .values(usage)
          .onConflictDoUpdate({
            target: [functionUsage.functionId, functionUsage.hour],
            set: {
              functionName: sql`excluded.function_name`,
              requests: sql`${functionUsage.requests} + excluded.requests`,
              errors: sql`${functionUsage.errors} + excluded.errors`,
              throttles: sql`${functionUsage.throttles} + excluded.throttles`,
              billedMbMs: sql`${functionUsage.billedMbMs} + excluded.billed_mb_ms`,
              durationMs: sql`${functionUsage.durationMs} + excluded.duration_ms`,
            },
          });
        usage.length = 0;
      }
      if (events.length > 0) {
        const rankOf = (table: string) =>
          sql.raw(
            `(${table}.attempts * 10 + case ${table}.status when 'queued' then 0 when 'running' then 1 when 'retrying' then 2 else 3 end)`,
          );
        await this.db
          .insert(functionInvocations)
          .values(events)
          .onConflictDoUpdate({
            target: functionInvocations.requestId,
            set: {
              status: sql`excluded.status`,
              attempts: sql`excluded.attempts`,
              error: sql`excluded.error`,
              finishedAt: sql`excluded.finished_at`,
            },
            setWhere: sql`${rankOf("excluded")} >= ${rankOf("function_invocations")}`,
          });
      }
    } catch (error) {
      // Put back what was not written, merged with what came in meanwhile.
      for (const sum of usage) this.merge(sum);
      for (const event of events) this.recordEvent(event);
      throw error;
    }
  }

  private merge(sum: UsageSum): void {
    const key = `${sum.functionId} ${sum.hour.getTime()}`;
    const known = this.usage.get(key);
    if (!known) {
      this.usage.set(key, sum);
      return;
    }
    known.requests += sum.requests;
    known.errors += sum.errors;
    known.throttles += sum.throttles;
    known.billedMbMs += sum.billedMbMs;
    known.durationMs += sum.durationMs;
  }
}

function order(event: EventRecord): number {
  return event.attempts * 10 + rank[event.status];
}
