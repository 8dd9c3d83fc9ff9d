import { type ChildProcess, spawn } from "node:child_process";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../lib/embedded-redis.js";
import { profileArgs } from "./profile.js";

/** The built entry point: process tests run what `npm start` runs. */
export const mainScript = fileURLToPath(new URL("../../dist/main.js", import.meta.url));

export interface SkiffProcess {
  child: ChildProcess;
  port: number;
  baseUrl: string;
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /**
   * Ends it once its test is done: SIGTERM, then SIGKILL after 3 s. A graceful stop waits for
   * the local agent's container stops under way, up to each container's stop timeout.
   */
  end(): Promise<void>;
}

/** Runs the api as its own process in `cwd`, with exactly the environment given (plus PATH). */
export async function startSkiffProcess(
  cwd: string,
  env: Record<string, string>,
): Promise<SkiffProcess> {
  // A restart may keep its port (agents were told where the api is).
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn(process.execPath, [...profileArgs(), mainScript], {
    cwd,
    env: {
      PATH: process.env.PATH ?? "",
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      // No gateway unless a test asks for one: parallel test processes would fight over 8000.
      SKIFF_GATEWAY_PORT: "0",
      // Processes of other test runs may share the Redis: their leader leases and loop state
      // must not be this one's. Named after the directory, so a restart keeps its keys.
      SKIFF_REDIS_PREFIX: `test:${basename(cwd)}:`,
      // Nor a registry on 5000, for the same reason.
      SKIFF_REGISTRY_PORT: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return {
    child,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => output,
    exited,
    stop,
    end: async () => {
      const kill = setTimeout(() => child.kill("SIGKILL"), 3000);
      await stop();
      clearTimeout(kill);
    },
  };
}

/** Polls /v1/health until it answers 200; returns how long that took. */
export async function waitForHealth(skiff: SkiffProcess, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (skiff.child.exitCode !== null)
      throw new Error(`skiff exited (${skiff.child.exitCode}): ${skiff.output()}`);
    try {
      const response = await fetch(`${skiff.baseUrl}/v1/health`);
      if (response.status === 200) return Date.now() - started;
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  // The failing test never gets the process to stop it: it would run on past the suite.
  await skiff.end();
  throw new Error(`no healthy answer within ${timeoutMs} ms: ${skiff.output()}`);
}

export { freePort };
