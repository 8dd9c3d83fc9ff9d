import { rm } from "node:fs/promises";
import { hostname } from "node:os";
import { resolve } from "node:path";
import {
  Agent,
  type ContainerRuntime,
  createAgentLogger,
  DockerRuntime,
  loadAgentState,
  parseAgentEnv,
  stateFilePath,
} from "@skiff/agent";
import { fargatePool } from "@skiff/shared";
import type { Database } from "../db/client.js";
import type { Env } from "../env.js";
import type { Clock } from "../lib/clock.js";
import type { Logger } from "../lib/logger.js";
import { authenticateNode } from "./services/nodes.js";
import { createJoinToken } from "./services/pools.js";

/** The pool the all-in-one agent joins. */
export const localAgentPool = "default";

/** The join token only has to outlive one registration call to this very process. */
const joinTokenTtlSeconds = 300;

/** How long the Docker engine may take to answer before the api runs without a local agent. */
const dockerProbeTimeoutMs = 5_000;

export interface LocalAgentOptions {
  env: Env;
  db: Database;
  clock: Clock;
  logger: Logger;
  /** Defaults to Docker at env.DOCKER_HOST. */
  runtime?: ContainerRuntime;
}

/** Every address this process's registry answers at, so the local agent pulls from it signed in. */
function registryAddresses(env: Env): string[] {
  const port = env.SKIFF_REGISTRY_PORT || 5000;
  const addresses = [`localhost:${port}`, `127.0.0.1:${port}`];
  if (env.SKIFF_REGISTRY_ADDRESS) addresses.push(env.SKIFF_REGISTRY_ADDRESS);
  return addresses;
}

/** The running in-process agent; `stop()` leaves its containers running for the next start. */
export interface LocalAgent {
  stop(): Promise<void>;
}

/**
 * Starts the all-in-one agents: the api's own host becomes a node of pool `default` and, with
 * SKIFF_LOCAL_FARGATE_SHARE above 0, also a node of pool `fargate` offering that share of the
 * host's cpu and memory (the rest stays with `default`), so both launch types run on one
 * machine. They talk to this process over loopback like any other agent. Call after the server
 * listens.
 *
 * Registrations are kept under SKIFF_DATA_DIR/agent (and agent-fargate), so a restart is the
 * same node (even on another PORT). A saved registration this database does not know (the data
 * was reset) is dropped and the node joins anew. Resolves undefined, after a warning, when no
 * Docker engine answers: the api then runs without a local agent.
 */
export async function startLocalAgent(opts: LocalAgentOptions): Promise<LocalAgent | undefined> {
  const { env, logger } = opts;
  const runtime = opts.runtime ?? new DockerRuntime({ dockerHost: env.DOCKER_HOST });
  let host: { cpus: number; memoryBytes: number };
  try {
    host = await withTimeout(runtime.hostInfo(), dockerProbeTimeoutMs);
  } catch (error) {
    logger.warn(
      { err: error, dockerHost: env.DOCKER_HOST ?? "default socket" },
      "no Docker engine answers; running without a local agent (set SKIFF_LOCAL_AGENT=false to silence)",
    );
    return undefined;
  }

  // The host split in two: fargate's share, and the rest (less the host's own reserve) for pool.
  const share = env.SKIFF_LOCAL_FARGATE_SHARE;
  const cpu = host.cpus * 1024;
  const memory = Math.floor(host.memoryBytes / (1024 * 1024));
  const fargateCpu = Math.round(cpu * share);
  const fargateMemory = Math.round(memory * share);
  const agents = [
    await startOne(opts, runtime, {
      pool: localAgentPool,
      stateDir: "agent",
      reservedCpu: fargateCpu,
      reservedMemory: hostReserveMiB + fargateMemory,
    }),
  ];
  if (share > 0) {
    agents.push(
      await startOne(opts, runtime, {
        pool: fargatePool,
        stateDir: "agent-fargate",
        reservedCpu: cpu - fargateCpu,
        reservedMemory: memory - fargateMemory,
      }),
    );
  }
  return {
    async stop() {
      await Promise.all(agents.map((agent) => agent.stop()));
    },
  };
}

/** MiB of the host kept out of every local node, for the host itself and Skiff. */
const hostReserveMiB = 256;

interface LocalNode {
  pool: string;
  /** Under SKIFF_DATA_DIR. */
  stateDir: string;
  reservedCpu: number;
  reservedMemory: number;
}

async function startOne(
  opts: LocalAgentOptions,
  runtime: ContainerRuntime,
  node: LocalNode,
): Promise<LocalAgent> {
  const { env, db, logger } = opts;
  const stateDir = resolve(env.SKIFF_DATA_DIR, node.stateDir);
  const saved = await loadAgentState(stateDir).catch((error: unknown) => {
    logger.warn({ err: error, stateDir }, "unreadable local agent state; the node joins anew");
    return null;
  });
  const known = saved && (await authenticateNode(db, saved.nodeId, saved.credential));
  let joinToken: string | undefined;
  if (!known) {
    if (saved) logger.warn({ nodeId: saved.nodeId }, "local agent's node is unknown; joining anew");
    await rm(stateFilePath(stateDir), { force: true });
    joinToken = (await createJoinToken(db, node.pool, joinTokenTtlSeconds, opts.clock.now(), 1))
      .token;
  }

  const agentEnv = parseAgentEnv({
    SKIFF_API_URL: `http://127.0.0.1:${env.PORT}`,
    SKIFF_JOIN_TOKEN: joinToken,
    SKIFF_AGENT_STATE_DIR: stateDir,
    SKIFF_NODE_NAME: node.pool === localAgentPool ? undefined : `${hostname()}-${node.pool}`,
    SKIFF_RESERVED_CPU: String(node.reservedCpu),
    SKIFF_RESERVED_MEMORY: String(node.reservedMemory),
    DOCKER_HOST: env.DOCKER_HOST,
    SKIFF_FARGATE_EGRESS_DENY: env.SKIFF_FARGATE_EGRESS_DENY,
    LOG_LEVEL: env.LOG_LEVEL,
    SKIFF_REGISTRY_ADDRESS: registryAddresses(env).join(","),
    // Any free ports (reported to this api with each heartbeat): two local agents, or two api
    // processes on one host, never collide. Only the fargate node serves functions.
    SKIFF_AGENT_PORT: "0",
    SKIFF_RUNTIME_API_PORT: "0",
  });
  const agent = new Agent({
    env: agentEnv,
    runtime,
    logger: createAgentLogger(env.LOG_LEVEL, { component: "local-agent", pool: node.pool }),
  });
  // Not awaited: registration retries until the api answers, and must never hold up the boot.
  const started = agent.start().then(
    () => {
      if (agent.nodeId)
        logger.info({ nodeId: agent.nodeId, pool: node.pool }, "local agent running");
    },
    (error: unknown) =>
      logger.error({ err: error, pool: node.pool }, "local agent failed to start"),
  );
  return {
    async stop() {
      await agent.stop();
      await started;
    },
  };
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
