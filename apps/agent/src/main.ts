import { Agent } from "./agent.js";
import { parseEnv } from "./env.js";
import { createLogger } from "./lib/logger.js";

// Wires the agent from the environment. SIGTERM/SIGINT stop the loops but leave the containers
// running: the next agent on this node adopts them.
const env = parseEnv();
const logger = createLogger(env.LOG_LEVEL);
const agent = new Agent({ env, logger });

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "stopping agent; containers keep running");
  try {
    await agent.stop();
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, "agent did not stop cleanly");
    process.exit(1);
  }
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));

try {
  await agent.start();
} catch (error) {
  logger.fatal({ err: error }, "agent failed to start");
  process.exit(1);
}
