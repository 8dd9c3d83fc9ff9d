// The agent as a library, for hosts that run it in-process (the api's all-in-one local agent).
// The standalone process is main.ts.
export { Agent, type AgentOptions } from "./agent.js";
export type { ContainerRuntime } from "./container-runtime.js";
export { DockerRuntime } from "./docker-runtime.js";
export { EgressFence, parseEgressDeny } from "./egress-fence.js";
export {
  type Env as AgentEnv,
  envSchema as agentEnvSchema,
  parseEnv as parseAgentEnv,
} from "./env.js";
export { credentialHashOf, functionsControlKey } from "./functions/control-key.js";
export { createLogger as createAgentLogger, type Logger as AgentLogger } from "./lib/logger.js";
export { loadAgentState, stateFilePath } from "./state-file.js";
