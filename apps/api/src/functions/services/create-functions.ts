import type { Redis } from "ioredis";
import type { Database } from "../../db/client.js";
import type { Clock } from "../../lib/clock.js";
import type { Logger } from "../../lib/logger.js";
import { AgentClient } from "./agent-client.js";
import { EventQueue } from "./async-queue.js";
import type { FunctionLookup } from "./function-config.js";
import type { FunctionSettings, FunctionsServices } from "./functions-runtime.js";
import { FunctionMetrics } from "./metrics.js";
import { NodePicker } from "./node-picker.js";
import { InvocationRecorder } from "./recorder.js";
import { FunctionRouter } from "./router.js";

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
export function createFunctions(options: FunctionsOptions): FunctionsServices & {
  start(): void;
  stop(): Promise<void>;
} {
  const { db, redis, clock, logger, directory, settings } = options;
  const nodes = new NodePicker(db, { refreshMs: options.nodeRefreshMs ?? 3_000, logger });
  const recorder = new InvocationRecorder(db, { intervalMs: options.flushMs ?? 1_000, logger });
  const events = new EventQueue(redis, { ...options.events, logger });
  const functions: FunctionsServices & { start(): void; stop(): Promise<void> } = {
    directory,
    router: new FunctionRouter(redis, {
      platformConcurrency: settings.platformConcurrency,
      leaseMarginMs: 120_000,
    }),
    nodes,
    agents: new AgentClient(),
    recorder,
    metrics: new FunctionMetrics(),
    clock,
    logger,
    settings,
    events,
    start() {
      nodes.start();
      recorder.start();
      events.startWorkers(functions, db);
    },
    async stop() {
      await events.close();
      await recorder
        .stop()
        .catch((error) => logger.warn({ err: error }, "function usage's last flush failed"));
      nodes.stop();
      functions.agents.close();
    },
  };
  return functions;
}
