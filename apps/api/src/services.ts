import type { PlatformInfo } from "@skiff/shared";
import type { Redis } from "ioredis";
import type { AssignmentNotifier } from "./compute/services/assignment-notifier.js";
import type { LogFollowHub } from "./compute/services/log-follows.js";
import type { Database } from "./db/client.js";
import type { FunctionDirectory } from "./functions/services/function-directory.js";
import type { EnqueueEvent } from "./functions/services/function-events.js";
import type { Clock } from "./lib/clock.js";
import type { Logger } from "./lib/logger.js";
import type { SecretsKey } from "./secrets/services/secret-crypto.js";
import type { Prices } from "./usage/services/usage.js";

/** What route handlers and jobs need, built once by main.ts (or a test) and handed down. */
export interface Services {
  db: Database;
  redis: Redis;
  logger: Logger;
  clock: Clock;
  /** Encrypts secrets' values at rest; SKIFF_SECRETS_KEY or the key file, never in the database. */
  secretsKey: SecretsKey;
  /** Wakes agents' long polls, on every replica. */
  notifier: AssignmentNotifier;
  /** Caps and wakes the task log follow streams of this process. */
  logFollows: LogFollowHub;
  /** Functions' configuration as the invoke path reads it: cached, invalidated on fn:changed. */
  functionDirectory: FunctionDirectory;
  /** Queues an Event invocation (the redrive of a dead letter); absent: the route answers 503. */
  enqueueFunctionEvent?: EnqueueEvent;
  settings: {
    /** A node whose agent is silent this long goes down; agents heartbeat three times within it. */
    nodeDownAfterMs: number;
    /** Prices of metered task time, per launch type. */
    prices: Prices;
    /** host:port of the built-in registry, as users and nodes reach it (GET /v1/registry). */
    registryAddress: string;
    /** How often an open log follow stream checks that its token still signs in. */
    logFollowRecheckMs: number;
    /** What GET /v1/info answers besides the registry address. */
    platform: Omit<PlatformInfo, "registryAddress">;
  };
  /** Checks that the backing engines answer; used by the health route. */
  ping(): Promise<void>;
}
