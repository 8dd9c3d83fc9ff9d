import { Agent } from "./agent.js";
import { ensureJoinToken } from "./bootstrap.js";
import { parseEnv } from "./env.js";
import { createLogger } from "./lib/logger.js";

// Wires the agent from the environment. SIGTERM/SIGINT stop the loops but leave the containers
// running: the next agent on this node adopts them.
const env = parseEnv();
const logger = createLogger(env.LOG_LEVEL);
const stopSignal = new AbortController();
let agent: Agent | undefined;

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  stopSignal.abort();
  logger.info({ signal }, "stopping agent; containers keep running");
  try {
    await agent?.stop();
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, "agent did not stop cleanly");
    process.exit(1);
  }
}
/** Stops the reconciler and log shipper, then exits with `code`. */
async function shutdownWith(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  stopSignal.abort();
  try {
    await agent?.stop();
  } finally {
    process.exit(code);
  }
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));

try {
  const joinable = await ensureJoinToken(env, { logger, signal: stopSignal.signal });
  if (!stopping) {
    agent = new Agent({
      env: joinable,
      logger,
      // Nothing to retry: say why and exit non-zero, so a supervisor shows it instead of a loop.
      onDeregistered: (error) => {
        logger.fatal({ nodeId: agent?.nodeId }, error.message);
        void shutdownWith(1);
      },
    });
    await agent.start();
  }
} catch (error) {
  logger.fatal({ err: error }, "agent failed to start");
  process.exit(1);
}
