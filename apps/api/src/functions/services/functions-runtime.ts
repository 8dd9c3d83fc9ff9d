import type { Clock } from "../../lib/clock.js";
import type { Logger } from "../../lib/logger.js";
import type { AgentClient } from "./agent-client.js";
import type { EventQueue } from "./async-queue.js";
import type { FunctionLookup } from "./function-config.js";
import type { FunctionMetrics } from "./metrics.js";
import type { MinuteMetrics } from "./minute-metrics.js";
import type { NodePicker } from "./node-picker.js";
import type { InvocationRecorder } from "./recorder.js";
import type { FunctionRouter } from "./router.js";
import type { SlotWaiters } from "./slot-waiters.js";

/** Settings of the invoke path, from the environment (env.ts). */
export interface FunctionSettings {
  /** The region in ARNs and AWS_REGION. */
  region: string;
  /** SKIFF_FUNCTION_CONCURRENCY: executions in flight of all functions together. */
  platformConcurrency: number;
  /** SKIFF_FUNCTION_IDLE_SECONDS: an instance idle this long is stopped. */
  idleMs: number;
  /**
   * SKIFF_FUNCTION_THROTTLE_WAIT_MS: how long an invocation that finds its function (or the
   * platform) at its concurrency waits for an execution to end before it is throttled (429).
   */
  throttleWaitMs: number;
}

/** What the invoke path, the event workers and the reaper share, built once per api process. */
export interface FunctionsRuntime {
  directory: FunctionLookup;
  router: FunctionRouter;
  nodes: NodePicker;
  agents: AgentClient;
  recorder: InvocationRecorder;
  metrics: FunctionMetrics;
  /** Per-minute series in Redis (all replicas), for GET /v1/functions/{name}/metrics. */
  minutes: MinuteMetrics;
  /** Invocations of this process waiting for an execution slot. */
  slots: SlotWaiters;
  clock: Clock;
  logger: Logger;
  settings: FunctionSettings;
}

/** The functions domain as Services holds it: the runtime plus the Event queue. */
export interface FunctionsServices extends FunctionsRuntime {
  events: EventQueue;
  /**
   * Calls `listener` with the id of a function whose configuration or code changed, or that was
   * deleted, on any replica (Redis pub/sub `fn:changed`, once `start` ran).
   */
  onChange(listener: (functionId: string) => void): void;
  /** Starts the node view's refresh, the recorder's flushes, the event workers, the subscription. */
  start(): void;
  /** Stops them; the recorder writes its last batch. */
  stop(): Promise<void>;
}
