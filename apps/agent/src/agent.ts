import { readFileSync } from "node:fs";
import { arch, hostname, platform } from "node:os";
import { fargatePool, type NodeState, SkiffApiError } from "@skiff/shared";
import Docker from "dockerode";
import { ApiClient } from "./api-client.js";
import type { ContainerRuntime } from "./container-runtime.js";
import { DockerRuntime, dockerOptionsFromHost } from "./docker-runtime.js";
import type { Env } from "./env.js";
import { NodeFunctions } from "./functions/node-functions.js";
import { removeGoneNodesContainers } from "./gone-nodes.js";
import type { IsolationSettings } from "./isolation.js";
import { backoffDelay, sleep } from "./lib/backoff.js";
import type { Logger } from "./lib/logger.js";
import { LogShipper } from "./log-shipper.js";
import { Reconciler } from "./reconciler.js";
import type { RegistryAuth } from "./registry-auth.js";
import { dockerConfigAuth, firstAuth, skiffRegistryAuth } from "./registry-auth.js";
import { type AgentState, loadAgentState, saveAgentState, stateFilePath } from "./state-file.js";
import { UsageSampler } from "./usage-sampler.js";

const mebibyte = 1024 * 1024;
/** How often the agent looks for containers that gone nodes of its install left on the engine. */
const goneNodesSweepIntervalMs = 60_000;

export interface AgentOptions {
  env: Env;
  logger: Logger;
  /** Defaults to Docker at env.DOCKER_HOST. */
  runtime?: ContainerRuntime;
  /** Defaults to a client of env.SKIFF_API_URL. */
  api?: ApiClient;
  /** Time between reconcile passes when nothing changes. Default 2000 ms. */
  reconcileIntervalMs?: number;
  /** How long one assignments long poll may wait at the api. Default 30 s. */
  assignmentsWaitSeconds?: number;
  /**
   * Called once when the api refuses the node's credential (the node was deregistered, or the
   * api's database is not the one the node joined): no retry can heal that. The loops have ended
   * by then; main.ts exits non-zero. Default: logs it.
   */
  onDeregistered?: (error: NodeDeregisteredError) => void;
}

/**
 * The api answers 401 to the node's credential. The agent does not re-register on its own, even
 * with a join token at hand: deleting a node is the operator's decision, and an agent that came
 * back by itself would undo it.
 */
export class NodeDeregisteredError extends Error {
  override name = "NodeDeregisteredError";
  constructor(nodeId: string, apiUrl: string, stateFile: string, cause: unknown) {
    super(
      `node ${nodeId} is not registered at ${apiUrl} any more (the api refuses its credential: the node was deleted, or the api's database is not the one it joined). Its containers are left as they are. To join again as a new node, remove ${stateFile} and start the agent with SKIFF_JOIN_TOKEN.`,
      { cause },
    );
  }
}

/**
 * Node capacity: this node's share of what the engine sees (all of it unless another node shares
 * the host) minus what the operator keeps for the host (never < 1).
 */
export function capacityFrom(
  host: { cpus: number; memoryBytes: number },
  reserved: { cpu: number; memory: number },
  share = 1,
): { cpu: number; memory: number } {
  return {
    cpu: Math.max(1, Math.round(host.cpus * 1024 * share) - reserved.cpu),
    memory: Math.max(
      1,
      Math.round(Math.floor(host.memoryBytes / mebibyte) * share) - reserved.memory,
    ),
  };
}

/** The share of its host a node offers: SKIFF_LOCAL_FARGATE_SHARE split by the node's pool. */
export function hostShareFor(pool: string, fargateShare: number): number {
  if (fargateShare <= 0) return 1;
  return pool === fargatePool ? fargateShare : 1 - fargateShare;
}

/** Placement attributes: os, arch and hostname, overridden by the operator's own. */
export function attributesFor(configured: Record<string, string>): Record<string, string> {
  return { os: platform(), arch: arch(), hostname: hostname(), ...configured };
}

/**
 * One node's agent: registers (once; the node id and credential live in the state file),
 * heartbeats, long-polls its assignments and feeds them to the Reconciler. Network failures are
 * retried with backoff and never end the process.
 */
export class Agent {
  private readonly env: Env;
  private readonly logger: Logger;
  private readonly runtime: ContainerRuntime;
  private readonly api: ApiClient;
  private readonly reconcileIntervalMs: number;
  private readonly waitSeconds: number;
  private readonly stopping = new AbortController();
  private state: AgentState | undefined;
  private reconciler: Reconciler | undefined;
  /** Skiff's registry as the api advertises it with assignments. */
  private advertisedRegistry: string | undefined;
  private logShipper: LogShipper | undefined;
  /** Function instances, on nodes of pool fargate only. */
  private functions: NodeFunctions | undefined;
  private loops: Promise<void>[] = [];
  private readonly onDeregistered: (error: NodeDeregisteredError) => void;
  private deregistered = false;

  constructor(opts: AgentOptions) {
    this.env = opts.env;
    this.logger = opts.logger;
    this.runtime = opts.runtime ?? new DockerRuntime({ dockerHost: opts.env.DOCKER_HOST });
    this.api = opts.api ?? new ApiClient({ baseUrl: opts.env.SKIFF_API_URL });
    this.reconcileIntervalMs = opts.reconcileIntervalMs ?? 2000;
    this.waitSeconds = opts.assignmentsWaitSeconds ?? 30;
    this.onDeregistered =
      opts.onDeregistered ?? ((error) => this.logger.error({ err: error }, error.message));
  }

  /** This node's id once registered. */
  get nodeId(): string | undefined {
    return this.state?.nodeId;
  }

  /**
   * Registers (or loads the saved registration), then starts the loops. Resolves once they run;
   * rejects only on what retrying cannot fix (no join token, a token the api refuses).
   */
  async start(): Promise<void> {
    const state = await this.ensureRegistered();
    // Stopped while registering: the registration is saved, but no loop may start now.
    if (!state || this.stopping.signal.aborted) return;
    this.state = state;
    this.api.setCredential(state.credential);
    const nodeId = state.nodeId;
    // Skiff's own registries first: the node credential, never sent anywhere else.
    const registryAuth = firstAuth(
      skiffRegistryAuth(
        () => [
          ...this.env.SKIFF_REGISTRY_ADDRESS,
          ...(this.advertisedRegistry ? [this.advertisedRegistry] : []),
        ],
        () => this.state,
      ),
      dockerConfigAuth(() => readOptionalFile(this.env.SKIFF_REGISTRY_AUTH_FILE)),
    );
    const logRotation = {
      maxSize: this.env.SKIFF_CONTAINER_LOG_MAX_SIZE,
      maxFiles: this.env.SKIFF_CONTAINER_LOG_MAX_FILES,
    };
    const isolation: IsolationSettings = {
      runtime: this.env.SKIFF_FARGATE_RUNTIME,
      pidsLimit: this.env.SKIFF_FARGATE_PIDS_LIMIT,
      storageSize: this.env.SKIFF_FARGATE_STORAGE_SIZE,
      subnetPool: this.env.SKIFF_TASK_SUBNET_POOL,
      egress: { ...this.env.SKIFF_FARGATE_EGRESS_DENY, openHostPorts: [] },
    };
    if (state.pool === fargatePool)
      await this.startFunctions(state, isolation, logRotation, registryAuth);
    this.reconciler = new Reconciler({
      nodeId,
      runtime: this.runtime,
      registryAuth,
      reportTask: (taskId, report) => this.api.reportTask(nodeId, taskId, report),
      // A task that ends between two log passes keeps its last lines.
      beforeRemove: (containers) => this.logShipper?.shipFinal(containers) ?? Promise.resolve(),
      intervalMs: this.reconcileIntervalMs,
      pullTimeoutMs: this.env.SKIFF_IMAGE_PULL_TIMEOUT_SECONDS * 1000,
      containerSettings: {
        ...(state.clusterId ? { clusterId: state.clusterId } : {}),
        logRotation,
      },
      onError: (error, context) =>
        this.logger.warn({ err: error, ...context }, "reconcile step failed; retrying next pass"),
      // openHostPorts: the Runtime API's port on fargate nodes, so tasks and instances reach
      // that one port of this node and nothing else (one fence, the same chains for both).
      isolation,
    });
    this.reconciler.start();
    this.logShipper = new LogShipper({
      nodeId,
      runtime: this.runtime,
      shipLogs: (taskId, body) => this.api.shipLogs(nodeId, taskId, body),
      onError: (error, context) =>
        this.logger.warn({ err: error, ...context }, "shipping logs failed; retrying next pass"),
    });
    this.logShipper.start();
    this.loops = [this.heartbeatLoop(state), this.assignmentsLoop(nodeId)];
    if (state.clusterId) this.loops.push(this.goneNodesLoop(nodeId, state.clusterId));
    this.logger.info({ nodeId, pool: state.pool }, "agent started");
  }

  /**
   * Stops the loops and waits for them. Task containers keep running: a restarted agent adopts
   * them. Function instances are removed.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    // Function instances are removed, not left: no later agent can adopt them.
    await Promise.all([this.reconciler?.stop(), this.logShipper?.stop(), this.functions?.stop()]);
    await Promise.all(this.loops);
  }

  /**
   * Serves function instances (nodes of pool fargate). A failure (a port taken) is logged and
   * the node runs tasks without functions: the api then never places instances on it.
   */
  private async startFunctions(
    state: AgentState,
    isolation: IsolationSettings,
    logRotation: { maxSize: string; maxFiles: number },
    registryAuth: (image: string) => RegistryAuth | undefined,
  ): Promise<void> {
    const nodeId = state.nodeId;
    try {
      this.functions = await NodeFunctions.start({
        nodeId,
        clusterId: state.clusterId,
        docker: new Docker(dockerOptionsFromHost(this.env.DOCKER_HOST)),
        credential: state.credential,
        stateDir: this.env.SKIFF_AGENT_STATE_DIR,
        controlPort: this.env.SKIFF_AGENT_PORT,
        runtimeApiPort: this.env.SKIFF_RUNTIME_API_PORT,
        idleSeconds: this.env.SKIFF_FUNCTION_IDLE_SECONDS,
        codeCacheBytes: this.env.SKIFF_FUNCTION_CODE_CACHE_MB * mebibyte,
        spareNetworks: this.env.SKIFF_FUNCTION_SPARE_NETWORKS,
        isolation,
        logRotation,
        fetchCode: (sha256) => this.api.functionCode(sha256),
        shipLogs: (functionId, lines) => this.api.shipFunctionLogs(nodeId, { functionId, lines }),
        ensureImage: (image) => this.runtime.ensureImage(image, registryAuth(image)),
        onError: (error, context) =>
          this.logger.warn({ err: error, ...context }, "function instances: a step failed"),
      });
      // The Runtime API's port is the one port of this node fargate's fence leaves open.
      isolation.egress.openHostPorts = [this.functions.runtimeApiPort];
      this.logger.info(
        { controlPort: this.functions.controlPort, runtimeApiPort: this.functions.runtimeApiPort },
        "serving function instances",
      );
    } catch (error) {
      this.logger.error({ err: error }, "cannot serve function instances; running tasks only");
    }
  }

  /** The saved registration, else a new one (saved at once); null when stopped meanwhile. */
  private async ensureRegistered(): Promise<AgentState | null> {
    const saved = await loadAgentState(this.env.SKIFF_AGENT_STATE_DIR);
    const joinToken = this.env.SKIFF_JOIN_TOKEN;
    if (saved && (saved.apiUrl === this.env.SKIFF_API_URL || !joinToken)) return saved;
    if (!joinToken) {
      throw new Error(
        `SKIFF_JOIN_TOKEN is required: no registration in ${this.env.SKIFF_AGENT_STATE_DIR}`,
      );
    }
    const host = await this.retry("read docker info", () => this.runtime.hostInfo());
    if (!host) return null;
    const body = {
      joinToken,
      name: this.env.SKIFF_NODE_NAME,
      capacity: capacityFrom(
        host,
        { cpu: this.env.SKIFF_RESERVED_CPU, memory: this.env.SKIFF_RESERVED_MEMORY },
        hostShareFor(this.env.SKIFF_POOL, this.env.SKIFF_LOCAL_FARGATE_SHARE),
      ),
      attributes: attributesFor(this.env.SKIFF_NODE_ATTRIBUTES),
      ...(this.env.SKIFF_NODE_ADDRESS ? { address: this.env.SKIFF_NODE_ADDRESS } : {}),
    };
    const registered = await this.retry("register", () => this.api.register(body));
    if (!registered) return null;
    const state: AgentState = {
      nodeId: registered.nodeId,
      credential: registered.credential,
      pool: registered.pool,
      heartbeatIntervalSeconds: registered.heartbeatIntervalSeconds,
      apiUrl: this.env.SKIFF_API_URL,
      ...(registered.clusterId ? { clusterId: registered.clusterId } : {}),
    };
    await saveAgentState(this.env.SKIFF_AGENT_STATE_DIR, state);
    this.logger.info({ nodeId: state.nodeId, capacity: body.capacity }, "node registered");
    return state;
  }

  /**
   * Runs `work` until it succeeds, backing off on network errors and 5xx/429 answers. Other
   * api errors (a bad token) are not going to heal by waiting: they reject.
   */
  private async retry<T>(what: string, work: () => Promise<T>): Promise<T | null> {
    for (let attempt = 0; !this.stopping.signal.aborted; attempt++) {
      try {
        return await work();
      } catch (error) {
        if (error instanceof SkiffApiError && error.status < 500 && error.status !== 429) {
          throw error;
        }
        const delay = backoffDelay(attempt);
        this.logger.warn({ err: error, delayMs: delay }, `${what} failed; retrying`);
        await sleep(delay, this.stopping.signal);
      }
    }
    return null;
  }

  /**
   * True when `error` says the api refuses the node's credential: that loop ends, and the first
   * loop to see it stops the rest and tells onDeregistered.
   */
  private refused(nodeId: string, error: unknown): boolean {
    if (!isCredentialRefused(error)) return false;
    if (!this.deregistered) {
      this.deregistered = true;
      this.stopping.abort();
      this.onDeregistered(
        new NodeDeregisteredError(
          nodeId,
          this.env.SKIFF_API_URL,
          stateFilePath(this.env.SKIFF_AGENT_STATE_DIR),
          error,
        ),
      );
    }
    return true;
  }

  private async heartbeatLoop(state: AgentState): Promise<void> {
    let nodeState: NodeState | undefined;
    let failures = 0;
    const sampler = new UsageSampler({ nodeId: state.nodeId, runtime: this.runtime });
    while (!this.stopping.signal.aborted) {
      let delay = state.heartbeatIntervalSeconds * 1000;
      try {
        const taskIds = this.reconciler?.listTaskIds() ?? [];
        const usage = sampler.sampleHost();
        // Ready samples only: an engine slow to answer stats must never delay a heartbeat.
        const tasks = sampler.takeTaskSamples((error) =>
          this.logger.debug({ err: error }, "sampling usage failed"),
        );
        const functions = this.functions
          ? {
              controlPort: this.functions.controlPort,
              functionInstanceIds: this.functions.instances.ids(),
            }
          : {};
        const answer = await this.api.heartbeat(state.nodeId, {
          taskIds,
          usage,
          tasks,
          ...functions,
        });
        if (answer.nodeState !== nodeState) {
          this.logger.info({ nodeState: answer.nodeState }, "node state");
          nodeState = answer.nodeState;
        }
        failures = 0;
      } catch (error) {
        if (this.refused(state.nodeId, error)) return;
        // Retry sooner than the interval (but backing off) so a blip does not mark us down.
        delay = Math.min(delay, backoffDelay(failures++));
        this.logger.warn({ err: error, delayMs: delay }, "heartbeat failed");
      }
      await sleep(delay, this.stopping.signal);
    }
  }

  /**
   * At start (a node that joined anew finds what its former self left) and then now and again
   * (a node goes down some time after its agent died): removes the containers of this install's
   * gone nodes. Never those of another install, nor of a live node sharing the engine.
   */
  private async goneNodesLoop(nodeId: string, clusterId: string): Promise<void> {
    while (!this.stopping.signal.aborted) {
      try {
        const removed = await removeGoneNodesContainers({
          nodeId,
          clusterId,
          runtime: this.runtime,
          goneNodes: (nodeIds) => this.api.goneNodes(nodeId, nodeIds),
        });
        if (removed > 0) this.logger.info({ removed }, "removed containers of gone nodes");
      } catch (error) {
        if (this.refused(nodeId, error)) return;
        this.logger.warn({ err: error }, "looking for gone nodes' containers failed");
      }
      await sleep(goneNodesSweepIntervalMs, this.stopping.signal);
    }
  }

  private async assignmentsLoop(nodeId: string): Promise<void> {
    let index = 0;
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      try {
        const answer = await this.api.waitForAssignments(
          nodeId,
          index,
          this.waitSeconds,
          this.stopping.signal,
        );
        failures = 0;
        // Also on a lower index: the api restarted its counter; its answer is still the truth.
        if (answer.registryAddress) this.advertisedRegistry = answer.registryAddress;
        if (answer.index !== index || index === 0) this.reconciler?.setAssignments(answer);
        index = answer.index;
      } catch (error) {
        if (this.stopping.signal.aborted || this.refused(nodeId, error)) return;
        const delay = backoffDelay(failures++);
        this.logger.warn({ err: error, delayMs: delay }, "assignments poll failed");
        await sleep(delay, this.stopping.signal);
      }
    }
  }
}

/** The api refusing the node's credential (never a network error, a 5xx or a 429). */
function isCredentialRefused(error: unknown): boolean {
  return error instanceof SkiffApiError && error.status === 401;
}

function readOptionalFile(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
