import type { Redis } from "ioredis";
import type { Database } from "../../db/client.js";
import type { Clock } from "../../lib/clock.js";
import type { Logger } from "../../lib/logger.js";
import { channelOf } from "../../lib/redis.js";
import { AgentClient } from "./agent-client.js";
import { EventQueue } from "./async-queue.js";
import type { FunctionLookup } from "./function-config.js";
import { functionChangedChannel } from "./function-keys.js";
import type { FunctionSettings, FunctionsServices } from "./functions-runtime.js";
import { FunctionMetrics } from "./metrics.js";
import { MinuteMetrics } from "./minute-metrics.js";
import { NodePicker } from "./node-picker.js";
import { InvocationRecorder } from "./recorder.js";
import { FunctionRouter } from "./router.js";
import { SlotWaiters } from "./slot-waiters.js";

export interface FunctionsOptions {
  db: Database;
  redis: Redis;
  clock: Clock;
  logger: Logger;
  directory: FunctionLookup;
  settings: FunctionSettings;
  events: { prefix: string; retryBaseDelayMs: number; concurrency: number };
  /** How often the view of nodes is read again; 3 s by default. */
  nodeRefreshMs?: number;
  /** How often the recorder writes its batch; 1 s by default. */
  flushMs?: number;
}

/** Builds the functions domain of one api process; `start` runs its timers and workers. */
export function createFunctions(options: FunctionsOptions): FunctionsServices {
  const { db, redis, clock, logger, directory, settings } = options;
  const nodes = new NodePicker(db, { refreshMs: options.nodeRefreshMs ?? 3_000, logger });
  const recorder = new InvocationRecorder(db, { intervalMs: options.flushMs ?? 1_000, logger });
  const events = new EventQueue(redis, { ...options.events, logger });
  const minutes = new MinuteMetrics(redis, { intervalMs: options.flushMs ?? 1_000, logger });
  const listeners: ((functionId: string) => void)[] = [];
  let subscriber: Redis | undefined;
  const functions: FunctionsServices = {
    directory,
    router: new FunctionRouter(redis, {
      platformConcurrency: settings.platformConcurrency,
      leaseMarginMs: 120_000,
    }),
    nodes,
    agents: new AgentClient(),
    recorder,
    metrics: new FunctionMetrics(),
    minutes,
    slots: new SlotWaiters(),
    clock,
    logger,
    settings,
    events,
    onChange(listener) {
      listeners.push(listener);
    },
    start() {
      nodes.start();
      recorder.start();
      minutes.start();
      events.startWorkers(functions, db);
      subscriber = redis.duplicate();
      subscriber.on("message", (_channel: string, functionId: string) => {
        for (const listener of listeners) listener(functionId);
      });
      subscriber.on("error", (error) =>
        logger.warn({ err: error.message }, "fn:changed subscriber error"),
      );
      subscriber.subscribe(channelOf(redis, functionChangedChannel)).catch((error) => {
        logger.warn(
          { err: error },
          "could not subscribe to fn:changed; the reaper still runs on its timer",
        );
      });
    },
    async stop() {
      subscriber?.disconnect();
      subscriber = undefined;
      await events.close();
      // Redis may be down at shutdown: the last minute's counts are not worth waiting for.
      await Promise.race([minutes.stop(), new Promise((done) => setTimeout(done, 1_000).unref())]);
      await recorder
        .stop()
        .catch((error) => logger.warn({ err: error }, "function usage's last flush failed"));
      nodes.stop();
      functions.agents.close();
      functions.router.close();
    },
  };
  return functions;
}
