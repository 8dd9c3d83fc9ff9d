import type { Redis } from "ioredis";
import type { Database } from "../../db/client.js";
import type { Env } from "../../env.js";
import { systemClock } from "../../lib/clock.js";
import type { Logger } from "../../lib/logger.js";
import type { SecretsKey } from "../../secrets/services/secret-crypto.js";
import { createFunctions } from "./create-functions.js";
import { FunctionDirectory } from "./function-directory.js";
import type { FunctionsServices } from "./functions-runtime.js";

/**
 * A process's invoke path as the environment configures it: the api's, and a gateway process's
 * (one more replica of it). The directory is started; the caller starts the functions.
 */
export async function functionsOfEnv(
  env: Env,
  deps: { db: Database; redis: Redis; secretsKey: SecretsKey; logger: Logger },
): Promise<{ directory: FunctionDirectory; functions: FunctionsServices }> {
  const { db, redis, secretsKey, logger } = deps;
  const directory = new FunctionDirectory({
    db,
    redis,
    secretsKey,
    region: env.SKIFF_REGION,
    logger: logger.child({ component: "function-directory" }),
  });
  await directory.start();
  const functions = createFunctions({
    db,
    redis,
    clock: systemClock,
    logger: logger.child({ component: "functions" }),
    directory,
    settings: {
      region: env.SKIFF_REGION,
      platformConcurrency: env.SKIFF_FUNCTION_CONCURRENCY,
      idleMs: env.SKIFF_FUNCTION_IDLE_SECONDS * 1000,
      throttleWaitMs: env.SKIFF_FUNCTION_THROTTLE_WAIT_MS,
    },
    events: {
      prefix: env.SKIFF_REDIS_PREFIX,
      retryBaseDelayMs: env.SKIFF_FUNCTION_RETRY_DELAY_SECONDS * 1000,
      concurrency: env.SKIFF_FUNCTION_EVENT_CONCURRENCY,
    },
  });
  return { directory, functions };
}
