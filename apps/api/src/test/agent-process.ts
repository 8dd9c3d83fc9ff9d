import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { profileArgs } from "./profile.js";

/** The built agent, run as its own process like on a real node. */
export const agentMain = fileURLToPath(new URL("../../../agent/dist/main.js", import.meta.url));

export interface AgentProcess {
  child: ChildProcess;
  output(): string;
  stop(signal: NodeJS.Signals): Promise<void>;
}

export interface AgentProcessOptions {
  /** Its state lives in workDir/name. */
  workDir: string;
  name: string;
  apiUrl: string;
  joinToken: string;
  dockerHost: string;
  /** More of the agent's environment (SKIFF_NODE_ATTRIBUTES, SKIFF_RESERVED_CPU, ...). */
  env?: Record<string, string>;
}

/** Node's flags as the agent's image runs it (apps/agent/Dockerfile). */
const agentNodeFlags = ["--max-semi-space-size=2"];

/** Starts an agent process on `dockerHost` that joins with `joinToken`. */
export function startAgentProcess(opts: AgentProcessOptions): AgentProcess {
  const stateDir = join(opts.workDir, opts.name);
  mkdirSync(stateDir, { recursive: true });
  const child = spawn(process.execPath, [...profileArgs(), ...agentNodeFlags, agentMain], {
    cwd: opts.workDir,
    env: {
      PATH: process.env.PATH ?? "",
      SKIFF_API_URL: opts.apiUrl,
      SKIFF_JOIN_TOKEN: opts.joinToken,
      SKIFF_AGENT_STATE_DIR: stateDir,
      SKIFF_NODE_NAME: opts.name,
      SKIFF_NODE_ADDRESS: "127.0.0.1",
      DOCKER_HOST: opts.dockerHost,
      LOG_LEVEL: "warn",
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  return {
    child,
    output: () => output,
    stop: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
