import { randomBytes } from "node:crypto";
import {
  functionCpuUnits,
  type InstanceInfo,
  type InvokeOutcome,
  type StartInstance,
} from "@skiff/shared";
import type Docker from "dockerode";
import { labels } from "../container-runtime.js";
import { fargateCapabilities, type IsolationSettings } from "../isolation.js";
import type { RegistryAuth } from "../registry-auth.js";
import type { CodeCache } from "./code-cache.js";
import type { ContainerEnd, ImageDefaults, InstanceEngine } from "./instance-engine.js";
import { type FunctionLogShipper, InstanceLog } from "./instance-logs.js";
import { type InstanceNetwork, type InstanceNetworks, instanceLabel } from "./instance-networks.js";
import { exitBody, timeoutBody, tooLargeBody } from "./invoke-errors.js";
import { MemoryPeak } from "./memory-peak.js";
import type { RuntimeAnswer, RuntimeEvents } from "./runtime-contract.js";

/** The instance is not (or no longer) on this node: the api drops it and starts another. */
export class InstanceGoneError extends Error {
  override name = "InstanceGoneError";
}
/** An instance runs one invocation at a time. */
export class InstanceBusyError extends Error {
  override name = "InstanceBusyError";
}
/** The instance could not start (image, code, network, engine): the api starts one elsewhere. */
export class InstanceStartError extends Error {
  override name = "InstanceStartError";
}
/** Two starts of one instance id. */
export class InstanceExistsError extends Error {
  override name = "InstanceExistsError";
}

/** Longest a runtime may take to be ready before its first invocation times out (Lambda: 10 s). */
const initLimitMs = 10_000;
/** After the container ended, how long an answer the runtime already sent may still land. */
const endGraceMs = 100;
const mebibyte = 1024 * 1024;

export interface InvokeRequest {
  requestId: string;
  payload: Buffer;
  deadlineMs: number;
  traceId?: string | undefined;
  clientContext?: string | undefined;
  cognitoIdentity?: string | undefined;
  logTail: boolean;
}

export interface InvokeResult {
  outcome: InvokeOutcome;
  body: Buffer;
  durationMs: number;
  billedDurationMs: number;
  maxMemoryUsedMb: number;
  initDurationMs?: number | undefined;
  logResult?: string | undefined;
  retired: boolean;
}

interface Instance {
  spec: StartInstance;
  info: InstanceInfo;
  network: InstanceNetwork;
  containerId: string | undefined;
  /** performance.now() when the container was asked to start. */
  startedAt: number;
  readyAt: number | undefined;
  invoked: boolean;
  ended: Promise<ContainerEnd>;
  end: ContainerEnd | undefined;
  gone: boolean;
  lastUsedMs: number;
  log: InstanceLog;
  memory: MemoryPeak | undefined;
}

export interface InstanceManagerOptions {
  nodeId: string;
  clusterId?: string | undefined;
  engine: InstanceEngine;
  networks: InstanceNetworks;
  code: CodeCache;
  runtimeApi: RuntimeEvents;
  /** The Runtime API's port (AWS_LAMBDA_RUNTIME_API is the instance's gateway and this port). */
  runtimeApiPort: () => number;
  isolation: IsolationSettings;
  logs: FunctionLogShipper;
  /** Pulls an `image` function's image when missing (the node's registry auth). */
  ensureImage: (image: string, auth?: RegistryAuth) => Promise<void>;
  logRotation?: { maxSize: string; maxFiles: number } | undefined;
  /** An instance idle this long is stopped on the agent's own (the api lost it). */
  idleStopMs: number;
  /** The image of a zip function's runtime. Default `skiff/lambda:<runtime>`. */
  runtimeImage?: (runtime: StartInstance["runtime"]) => string;
  onError?: (error: unknown, context: Record<string, unknown>) => void;
  /** Where the host's cgroups are mounted (default /sys/fs/cgroup; tests: elsewhere). */
  cgroupRoot?: string | undefined;
  /** Each start's steps in ms (network, create, code, start; ready when the runtime asks). */
  onStartSteps?: (instanceId: string, steps: StartSteps) => void;
}

/** Where a cold start's time goes, in ms, each step from the end of the one before. */
export interface StartSteps {
  /** Taking a network (a spare: ~0) and, for image functions, pulling the image. */
  network: number;
  /** Creating the container (the code tar is fetched or read meanwhile). */
  create: number;
  /** Waiting for the code tar (beyond create) and copying it in. */
  code: number;
  /** The engine's start. */
  start: number;
  /** From started to the runtime's first `next`. */
  ready?: number | undefined;
}

/**
 * The function instances of this node: containers started on the api's request, one invocation
 * at a time, fenced like fargate tasks. Their state lives only in this process: an instance's
 * runtime holds a connection to it, so a restarted agent removes what it finds instead.
 */
export class InstanceManager {
  private readonly instances = new Map<string, Instance>();
  private readonly byAddress = new Map<string, string>();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: InstanceManagerOptions) {}

  /** Which instance a Runtime API connection comes from, by its source address. */
  identify(remoteAddress: string): string | undefined {
    const address = remoteAddress.startsWith("::ffff:") ? remoteAddress.slice(7) : remoteAddress;
    return this.byAddress.get(address);
  }

  ids(): string[] {
    return [...this.instances.keys()];
  }

  list(): InstanceInfo[] {
    return [...this.instances.values()].map((instance) => ({ ...instance.info }));
  }

  /** Removes instance containers and networks of this node a former agent process left. */
  async removeLeftovers(): Promise<void> {
    const keep = new Set(this.instances.keys());
    for (const container of await this.opts.engine.containers(
      `${labels.node}=${this.opts.nodeId}`,
    )) {
      const instanceId = container.labels[instanceLabel];
      if (instanceId && !keep.has(instanceId)) await this.opts.engine.remove(container.id);
    }
    await this.opts.networks.removeExcept(keep);
  }

  startIdleStopper(intervalMs = Math.min(30_000, this.opts.idleStopMs / 2)): void {
    this.idleTimer = setInterval(() => {
      const now = Date.now();
      for (const [id, instance] of this.instances) {
        if (instance.info.state === "busy") continue;
        if (now - instance.lastUsedMs >= this.opts.idleStopMs) void this.stop(id);
      }
    }, intervalMs);
    this.idleTimer.unref();
  }

  /** Stops every instance (agent shutdown: their runtimes' connections end with it). */
  async stopAll(): Promise<void> {
    if (this.idleTimer) clearInterval(this.idleTimer);
    await Promise.all(this.ids().map((id) => this.stop(id)));
  }

  /** Starts the instance's container; invocations sent before its runtime is ready wait. */
  async start(spec: StartInstance): Promise<InstanceInfo> {
    const id = spec.instanceId;
    if (this.instances.has(id)) throw new InstanceExistsError(`instance ${id} exists`);
    const requested = performance.now();
    const now = new Date();
    const info: InstanceInfo = {
      instanceId: id,
      functionId: spec.functionId,
      revision: spec.revision,
      state: "starting",
      startedAt: now.toISOString(),
      lastUsedAt: null,
    };
    // Reserved at once: a second start of the id is refused while this one runs.
    const placeholder = { info, gone: false } as Instance;
    this.instances.set(id, placeholder);
    let network: InstanceNetwork | undefined;
    try {
      const image =
        "image" in spec.code
          ? spec.code.image
          : (this.opts.runtimeImage?.(spec.runtime) ?? `skiff/lambda:${spec.runtime}`);
      // The code (fetched and converted once per sha256, then from memory) comes while the
      // network is taken and the container made: nothing on this path waits on another needlessly.
      const code = "sha256" in spec.code ? this.opts.code.tarOf(spec.code.sha256) : undefined;
      code?.catch(() => {});
      const [made, defaults] = await Promise.all([
        this.opts.networks.take(id),
        "image" in spec.code
          ? this.opts.ensureImage(image).then(() => this.opts.engine.imageDefaults(image))
          : undefined,
      ]);
      network = made;
      const steps: StartSteps = { network: 0, create: 0, code: 0, start: 0 };
      let mark = requested;
      const step = (name: "network" | "create" | "code" | "start") => {
        const at = performance.now();
        steps[name] = at - mark;
        mark = at;
      };
      step("network");
      const instance: Instance = {
        spec,
        info,
        network,
        containerId: undefined,
        startedAt: requested,
        readyAt: undefined,
        invoked: false,
        ended: new Promise(() => {}),
        end: undefined,
        gone: false,
        lastUsedMs: Date.now(),
        log: new InstanceLog(id, spec.functionId, this.opts.logs),
        memory: undefined,
      };
      this.instances.set(id, instance);
      this.byAddress.set(network.address, id);
      this.opts.runtimeApi.ready(id).then(
        () => {
          instance.readyAt = performance.now();
          if (instance.info.state === "starting") instance.info.state = "idle";
          if (steps.start > 0) {
            steps.ready = instance.readyAt - mark;
            this.opts.onStartSteps?.(id, steps);
          }
        },
        () => {},
      );
      const containerId = await this.opts.engine.create(
        this.createOptions(spec, image, network, now, defaults),
      );
      instance.containerId = containerId;
      step("create");
      const tar = await code;
      if (tar) await this.opts.engine.putArchive(containerId, tar, "/");
      step("code");
      instance.startedAt = performance.now();
      await this.opts.engine.start(containerId);
      step("start");
      instance.memory = new MemoryPeak(
        containerId,
        () => this.opts.engine.followStats(containerId),
        this.opts.cgroupRoot,
      );
      instance.memory
        .watch()
        .catch((error) => this.opts.onError?.(error, { instanceId: id, step: "follow memory" }));
      if (placeholder.gone || instance.gone) {
        // Deleted while starting.
        await this.cleanUp(instance);
        throw new InstanceGoneError(`instance ${id} was deleted while it started`);
      }
      instance.ended = this.opts.engine.waitForEnd(containerId).then(
        (end) => end,
        () => ({ exitCode: -1, oomKilled: false }),
      );
      void instance.ended.then((end) => this.onEnded(instance, end));
      this.opts.engine.followLogs(containerId).then(
        (stream) => instance.log.follow(stream),
        (error) => this.opts.onError?.(error, { instanceId: id, step: "follow logs" }),
      );
      return { ...info };
    } catch (error) {
      const instance = this.instances.get(id);
      this.instances.delete(id);
      if (network) {
        this.byAddress.delete(network.address);
        this.opts.runtimeApi.forget(id, new InstanceGoneError("the instance failed to start"));
        await this.opts.networks.remove(network).catch(() => {});
      }
      if (instance?.containerId)
        await this.opts.engine.remove(instance.containerId).catch(() => {});
      throw error;
    }
  }

  private createOptions(
    spec: StartInstance,
    image: string,
    network: InstanceNetwork,
    now: Date,
    imageDefaults?: ImageDefaults,
  ): Docker.ContainerCreateOptions {
    const memoryBytes = spec.memory * mebibyte;
    const isolation = this.opts.isolation;
    const day = now.toISOString().slice(0, 10).replace(/-/g, "/");
    const env: Record<string, string> = {
      ...spec.environment,
      // Lambda's reserved variables win over the user's.
      AWS_LAMBDA_FUNCTION_NAME: spec.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memory),
      LAMBDA_TASK_ROOT: "/var/task",
      LAMBDA_RUNTIME_DIR: "/var/runtime",
      AWS_REGION: spec.region,
      AWS_DEFAULT_REGION: spec.region,
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.functionName}`,
      AWS_LAMBDA_LOG_STREAM_NAME: `${day}/[$LATEST]${randomBytes(16).toString("hex")}`,
      AWS_LAMBDA_RUNTIME_API: `${network.gateway}:${this.opts.runtimeApiPort()}`,
      AWS_EXECUTION_ENV: `AWS_Lambda_${spec.runtime}`,
      TZ: ":UTC",
    };
    // As Lambda runs an image: without a configured handler, the image's CMD names it; the code
    // is where the image keeps it (its LAMBDA_TASK_ROOT, else its working directory).
    const handler = spec.handler ?? imageDefaults?.cmd.join(" ");
    if (handler) env._HANDLER = handler;
    if (imageDefaults)
      env.LAMBDA_TASK_ROOT =
        imageDefaults.env.LAMBDA_TASK_ROOT ?? (imageDefaults.workingDir || "/var/task");
    const containerLabels: Record<string, string> = {
      [labels.node]: this.opts.nodeId,
      [instanceLabel]: spec.instanceId,
      "skiff.function": spec.functionId,
    };
    if (this.opts.clusterId) containerLabels[labels.cluster] = this.opts.clusterId;
    const host: Docker.HostConfig = {
      NetworkMode: network.name,
      Memory: memoryBytes,
      // No swap beyond the limit: the function's memory means what it says (OOM -> ExitError).
      MemorySwap: memoryBytes,
      CpuShares: functionCpuUnits(spec.memory),
      CapDrop: ["ALL"],
      CapAdd: [...fargateCapabilities],
      SecurityOpt: ["no-new-privileges:true"],
      PidsLimit: isolation.pidsLimit,
      Privileged: false,
      RestartPolicy: { Name: "no" },
    };
    if (isolation.runtime) host.Runtime = isolation.runtime;
    if (isolation.storageSize) host.StorageOpt = { size: isolation.storageSize };
    if (this.opts.logRotation)
      host.LogConfig = {
        Type: "json-file",
        Config: {
          "max-size": this.opts.logRotation.maxSize,
          "max-file": String(this.opts.logRotation.maxFiles),
        },
      };
    return {
      name: `skiff-fn-${spec.instanceId}`,
      Image: image,
      Labels: containerLabels,
      Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
      HostConfig: host,
      NetworkingConfig: {
        // Its address is fixed here, so the Runtime API knows the caller before the container runs.
        EndpointsConfig: { [network.name]: { IPAMConfig: { IPv4Address: network.address } } },
      },
    };
  }

  /** Hands one event to the instance and waits for its outcome (see function-instances.ts). */
  async invoke(instanceId: string, request: InvokeRequest): Promise<InvokeResult> {
    const instance = this.instances.get(instanceId);
    if (!instance || instance.gone || !instance.containerId)
      throw new InstanceGoneError(`instance ${instanceId} is not on this node`);
    if (instance.info.state === "busy")
      throw new InstanceBusyError(`instance ${instanceId} is busy`);
    const first = !instance.invoked;
    instance.invoked = true;
    instance.info.state = "busy";
    instance.log.start(request.requestId);
    const began = performance.now();
    const answer = this.opts.runtimeApi
      .invoke(instanceId, {
        requestId: request.requestId,
        payload: request.payload,
        deadlineMs: request.deadlineMs,
        functionArn: instance.spec.functionArn,
        ...(request.traceId ? { traceId: request.traceId } : {}),
        ...(request.clientContext ? { clientContext: request.clientContext } : {}),
        ...(request.cognitoIdentity ? { cognitoIdentity: request.cognitoIdentity } : {}),
      })
      .then(
        (value): Settled => ({ kind: "answer", value }),
        (): Settled => ({ kind: "ended" }),
      );
    const timers: NodeJS.Timeout[] = [];
    const sleep = (ms: number) =>
      new Promise<void>((done) => timers.push(setTimeout(done, Math.max(0, ms))));
    // The function's time starts once its runtime is ready: init is not part of it, as in Lambda.
    const deadline = first
      ? Promise.race([this.opts.runtimeApi.ready(instanceId), sleep(initLimitMs)]).then(() =>
          sleep(request.deadlineMs - Date.now() + (performance.now() - began)),
        )
      : sleep(request.deadlineMs - Date.now());
    const ended = instance.ended.then(() =>
      Promise.race([answer, sleep(endGraceMs).then((): Settled => ({ kind: "ended" }))]),
    );
    let settled: Settled;
    try {
      settled = await Promise.race([
        answer,
        ended,
        deadline.then((): Settled => ({ kind: "timeout" })),
      ]);
    } finally {
      for (const timer of timers) clearTimeout(timer);
    }
    const finished = performance.now();
    const initDurationMs =
      first && instance.readyAt !== undefined ? instance.readyAt - instance.startedAt : undefined;
    const from =
      first && instance.readyAt !== undefined ? Math.max(began, instance.readyAt) : began;
    const durationMs = Math.max(0, finished - from);
    const billedDurationMs = Math.max(1, Math.ceil(durationMs));

    let outcome: InvokeOutcome;
    let body: Buffer;
    let retired = false;
    if (settled.kind === "answer") {
      ({ outcome, body } = fromAnswer(settled.value));
      retired = outcome === "init-error";
    } else if (settled.kind === "timeout") {
      outcome = "timeout";
      body = timeoutBody(request.requestId, instance.spec.timeout);
      instance.log.write(
        `${new Date().toISOString()} ${request.requestId} Task timed out after ${instance.spec.timeout.toFixed(2)} seconds`,
      );
      retired = true;
    } else {
      outcome = "exit";
      const end = instance.end ?? (await instance.ended);
      body = exitBody(request.requestId, end);
      retired = true;
    }
    const peak = instance.memory?.bytes();
    const maxMemoryUsedMb = Math.max(1, Math.round((peak ?? 0) / mebibyte));
    if (request.logTail) await instance.log.settle();
    instance.log.end(request.requestId, {
      durationMs,
      billedDurationMs,
      memorySizeMb: instance.spec.memory,
      maxMemoryUsedMb,
      initDurationMs,
    });
    const logResult = request.logTail
      ? Buffer.from(instance.log.tailText()).toString("base64")
      : undefined;
    instance.lastUsedMs = Date.now();
    instance.info.lastUsedAt = new Date(instance.lastUsedMs).toISOString();
    if (retired) void this.stop(instanceId);
    else instance.info.state = "idle";
    return {
      outcome,
      body,
      durationMs,
      billedDurationMs,
      maxMemoryUsedMb,
      initDurationMs,
      logResult,
      retired,
    };
  }

  /** Stops and removes the instance; a no-op when it is unknown. */
  async stop(instanceId: string): Promise<void> {
    const instance = this.instances.get(instanceId);
    if (!instance) return;
    instance.gone = true;
    // Still starting: start() sees `gone` once its container exists and cleans up itself.
    if (!instance.network) return;
    await this.cleanUp(instance);
  }

  private onEnded(instance: Instance, end: ContainerEnd): void {
    instance.end = end;
    if (instance.gone) return;
    // Died on its own (crash, OOM while idle): pending calls settle, and it is gone.
    void this.cleanUp(instance);
  }

  private async cleanUp(instance: Instance): Promise<void> {
    const id = instance.info.instanceId;
    instance.gone = true;
    if (this.instances.get(id) === instance) this.instances.delete(id);
    this.byAddress.delete(instance.network.address);
    instance.memory?.close();
    this.opts.runtimeApi.forget(id, new InstanceGoneError(`instance ${id} stopped`));
    try {
      if (instance.containerId) await this.opts.engine.remove(instance.containerId);
      await this.opts.networks.remove(instance.network);
    } catch (error) {
      this.opts.onError?.(error, { instanceId: id, step: "remove instance" });
    }
  }
}

type Settled = { kind: "answer"; value: RuntimeAnswer } | { kind: "timeout" } | { kind: "ended" };

function fromAnswer(answer: RuntimeAnswer): { outcome: InvokeOutcome; body: Buffer } {
  switch (answer.kind) {
    case "response":
      return { outcome: "success", body: answer.body };
    case "error":
      return { outcome: "error", body: answer.body };
    case "init-error":
      return { outcome: "init-error", body: answer.body };
    case "too-large":
      return { outcome: "error", body: tooLargeBody() };
  }
}
