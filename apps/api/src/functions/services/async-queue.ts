import { randomUUID } from "node:crypto";
import { type ConnectionOptions, DelayedError, type Job, Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Database } from "../../db/client.js";
import { functionDeadLetters } from "../../db/schema/index.js";
import type { Logger } from "../../lib/logger.js";
import type { FunctionRuntimeConfig } from "./function-config.js";
import type { FunctionsRuntime, FunctionsServices } from "./functions-runtime.js";
import { invokeFunction } from "./invoke.js";
import { LambdaError } from "./lambda-errors.js";

/** One Event invocation, as it waits in Redis (durable across api restarts). */
export interface EventJob {
  functionId: string;
  name: string;
  requestId: string;
  /** The event's bytes, base64. */
  payload: string;
  /** Epoch ms it was accepted (the 202). */
  enqueuedAt: number;
}

export interface EventQueueOptions {
  /** SKIFF_REDIS_PREFIX: BullMQ keeps its keys under `<prefix>bull:functions-events:`. */
  prefix: string;
  /** Delay before the first retry; each next one doubles it (Lambda: 1 min, then 2 min). */
  retryBaseDelayMs: number;
  /** Events one api process runs at once. */
  concurrency: number;
  logger?: Logger;
}

export const eventQueueName = "functions-events";
/** A throttled event (it waited SKIFF_FUNCTION_THROTTLE_WAIT_MS already) tries again after this. */
const throttledRetryMs = 1_000;

/**
 * BullMQ's connection: the same server as the api's, without ioredis's keyPrefix (BullMQ
 * refuses it: the install's prefix goes in BullMQ's own `prefix` option instead).
 */
function connectionOf(redis: Redis): ConnectionOptions {
  const { host, port, family, db, username, password, tls, path } = redis.options;
  return {
    host,
    port,
    family,
    db,
    username,
    password,
    tls,
    ...(path ? { path } : {}),
    maxRetriesPerRequest: null,
  };
}

/**
 * The queue of Event invocations (BullMQ `functions-events`) and this replica's workers.
 * A job is acknowledged only after its invocation ended (success, or its dead letter written),
 * so an api that dies mid-event leaves it to be run again: at least once, as Lambda.
 */
export class EventQueue {
  readonly queue: Queue<EventJob>;
  private worker: Worker<EventJob> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly options: EventQueueOptions,
  ) {
    this.queue = new Queue<EventJob>(eventQueueName, {
      connection: connectionOf(redis),
      prefix: `${options.prefix}bull`,
    });
  }

  async add(job: EventJob, fn: FunctionRuntimeConfig): Promise<void> {
    await this.queue.add("invoke", job, {
      attempts: fn.async.maximumRetryAttempts + 1,
      backoff: { type: "exponential", delay: this.options.retryBaseDelayMs },
      removeOnComplete: { age: 3600, count: 10_000 },
      removeOnFail: { age: 24 * 3600 },
    });
  }

  /** Starts this replica's workers. */
  startWorkers(runtime: FunctionsRuntime, db: Database): void {
    if (this.worker) return;
    this.worker = new Worker<EventJob>(
      eventQueueName,
      // Acknowledged only once its record is written: an api killed before that runs it again
      // (at least once), never leaves it done but unrecorded.
      (job, token) =>
        runEvent(runtime, db, job, token).finally(() => runtime.recorder.flush().catch(() => {})),
      {
        connection: connectionOf(this.redis),
        prefix: `${this.options.prefix}bull`,
        concurrency: this.options.concurrency,
        // A crashed replica's jobs are picked up again once their lock lapses and the next
        // check for stalled jobs runs: within 20 s (locks are renewed every 5 s while jobs run).
        lockDuration: 10_000,
        stalledInterval: 10_000,
      },
    );
    this.worker.on("error", (error) =>
      this.options.logger?.warn({ err: error }, "functions event worker error"),
    );
  }

  /** Stops taking events; those running finish first (or are run again by another worker). */
  async stopWorkers(): Promise<void> {
    await this.worker?.close();
    this.worker = undefined;
  }

  /**
   * Closes the workers (letting running events finish) and the queue, within `timeoutMs`: past
   * it (Redis down, a long event) the connections are dropped, and an unfinished event runs
   * again on another worker once its lock lapses.
   */
  async close(timeoutMs = 3_000): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    const closing = Promise.all([worker?.close(), this.queue.close()]);
    if (await settlesWithin(closing, timeoutMs)) return;
    // BullMQ's close and disconnect both wait for a connection that may never come back.
    await settlesWithin(Promise.allSettled([worker?.disconnect(), this.queue.disconnect()]), 1_000);
  }
}

/**
 * Accepts an Event invocation: queued in Redis before the caller hears 202. Also used by the
 * redrive route (branch fn-api), which passes the dead letter's request id.
 */
export async function enqueueEvent(
  runtime: FunctionsServices,
  fn: FunctionRuntimeConfig,
  payload: Buffer,
  options: { requestId?: string } = {},
): Promise<{ requestId: string }> {
  const requestId = options.requestId ?? randomUUID();
  const enqueuedAt = runtime.clock.now();
  await runtime.events.add(
    {
      functionId: fn.id,
      name: fn.name,
      requestId,
      payload: payload.toString("base64"),
      enqueuedAt: enqueuedAt.getTime(),
    },
    fn,
  );
  runtime.recorder.recordEvent({
    requestId,
    functionId: fn.id,
    status: "queued",
    attempts: 0,
    error: null,
    enqueuedAt,
    finishedAt: null,
  });
  return { requestId };
}

/** One attempt of an Event invocation. Throws to have BullMQ retry it after the backoff. */
async function runEvent(
  runtime: FunctionsRuntime,
  db: Database,
  job: Job<EventJob>,
  token: string | undefined,
): Promise<void> {
  const { data } = job;
  const { recorder } = runtime;
  const enqueuedAt = new Date(data.enqueuedAt);
  const attempt = job.attemptsMade + 1;
  const attempts = job.opts.attempts ?? 1;
  const fn = await findFunction(runtime, data);
  if (!fn) {
    // Deleted since: there is no function to run it nor to keep its dead letter.
    recorder.recordEvent({
      requestId: data.requestId,
      functionId: data.functionId,
      status: "failed",
      attempts: attempt - 1,
      error: "the function was deleted",
      enqueuedAt,
      finishedAt: runtime.clock.now(),
    });
    return;
  }
  const ageMs = runtime.clock.now().getTime() - data.enqueuedAt;
  if (ageMs > fn.async.maximumEventAgeSeconds * 1000) {
    const error = `the event is older than the function's maximum event age (${fn.async.maximumEventAgeSeconds} s)`;
    await deadLetter(runtime, db, data, {
      error,
      errorType: "EventAgeExceeded",
      attempts: attempt - 1,
    });
    return;
  }
  recorder.recordEvent({
    requestId: data.requestId,
    functionId: fn.id,
    status: "running",
    attempts: attempt,
    error: null,
    enqueuedAt,
    finishedAt: null,
  });
  let failure: { error: string; errorType: string | null };
  try {
    const result = await invokeFunction(runtime, fn, Buffer.from(data.payload, "base64"), {
      requestId: data.requestId,
    });
    if (!result.functionError) {
      recorder.recordEvent({
        requestId: data.requestId,
        functionId: fn.id,
        status: "succeeded",
        attempts: attempt,
        error: null,
        enqueuedAt,
        finishedAt: runtime.clock.now(),
      });
      return;
    }
    failure = errorOf(result.body);
  } catch (error) {
    if (error instanceof LambdaError && error.status === 429) {
      // Lambda retries a throttled event until its maximum age without spending an attempt.
      recorder.recordEvent({
        requestId: data.requestId,
        functionId: fn.id,
        status: "retrying",
        attempts: attempt,
        error: error.message,
        enqueuedAt,
        finishedAt: null,
      });
      await job.moveToDelayed(Date.now() + throttledRetryMs, token);
      throw new DelayedError();
    }
    failure =
      error instanceof LambdaError
        ? { error: error.message, errorType: error.type }
        : { error: (error as Error).message, errorType: null };
  }
  if (attempt >= attempts) {
    await deadLetter(runtime, db, data, { ...failure, attempts: attempt });
    return;
  }
  recorder.recordEvent({
    requestId: data.requestId,
    functionId: fn.id,
    status: "retrying",
    attempts: attempt,
    error: failure.error,
    enqueuedAt,
    finishedAt: null,
  });
  throw new Error(failure.error);
}

async function findFunction(
  runtime: FunctionsRuntime,
  data: EventJob,
): Promise<FunctionRuntimeConfig | undefined> {
  const fn = runtime.directory.getById
    ? await runtime.directory.getById(data.functionId)
    : await runtime.directory.get(data.name);
  return fn && fn.id === data.functionId ? fn : undefined;
}

/** The function's error document's message and type, as the dead letter keeps them. */
function errorOf(body: Buffer): { error: string; errorType: string | null } {
  const found = parseError(body);
  // PostgreSQL's text cannot hold a NUL, and a function's error message may carry one.
  return {
    error: found.error.replaceAll("\u0000", "\\u0000"),
    errorType: found.errorType?.replaceAll("\u0000", "\\u0000") ?? null,
  };
}

function parseError(body: Buffer): { error: string; errorType: string | null } {
  try {
    const document = JSON.parse(body.toString("utf8")) as {
      errorMessage?: unknown;
      errorType?: unknown;
    };
    return {
      error:
        typeof document.errorMessage === "string" ? document.errorMessage : body.toString("utf8"),
      errorType: typeof document.errorType === "string" ? document.errorType : null,
    };
  } catch {
    return { error: body.toString("utf8").slice(0, 4096), errorType: null };
  }
}

/** Written before the job is acknowledged: an event is never lost between the two. */
async function deadLetter(
  runtime: FunctionsRuntime,
  db: Database,
  data: EventJob,
  failure: { error: string; errorType: string | null; attempts: number },
): Promise<void> {
  const failedAt = runtime.clock.now();
  await db.insert(functionDeadLetters).values({
    id: randomUUID(),
    functionId: data.functionId,
    requestId: data.requestId,
    payload: Buffer.from(data.payload, "base64").toString("utf8"),
    error: failure.error.slice(0, 4096),
    errorType: failure.errorType,
    attempts: failure.attempts,
    enqueuedAt: new Date(data.enqueuedAt),
    failedAt,
  });
  runtime.recorder.recordEvent({
    requestId: data.requestId,
    functionId: data.functionId,
    status: "failed",
    attempts: failure.attempts,
    error: failure.error.slice(0, 4096),
    enqueuedAt: new Date(data.enqueuedAt),
    finishedAt: failedAt,
  });
}

/** Whether `promise` settled within `ms` (it is left to settle, or not, on its own after). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((done) => {
    timer = setTimeout(() => done(false), ms);
  });
  const settled = promise.then(
    () => true as const,
    () => true as const,
  );
  const outcome = await Promise.race([settled, timedOut]);
  clearTimeout(timer);
  return outcome;
}
