import Docker from "dockerode";
import {
  type ContainerCounters,
  ContainerRequestError,
  type ContainerRuntime,
  type ContainerSpec,
  type ContainerState,
  type ContainerStatus,
  type HostPort,
  ImagePullError,
  type LogReadLimits,
  type TaskNetwork,
} from "./container-runtime.js";
import { type ContainerLogLine, DockerLogParser, NewestLines } from "./log-lines.js";
import type { RegistryAuth } from "./registry-auth.js";

const nanosPerSecond = 1_000_000_000;

/** The parts of the engine's stats answer that usage needs. */
interface DockerStats {
  cpu_stats?: { cpu_usage?: { total_usage: number } };
  memory_stats?: {
    usage?: number;
    stats?: { inactive_file?: number; total_inactive_file?: number };
  };
}

/**
 * dockerode options for a DOCKER_HOST value (unix:///path or tcp://host:port). Unset: dockerode's
 * own default (the local socket). Never pins an API version: the engine here speaks 1.41.
 */
export function dockerOptionsFromHost(dockerHost: string | undefined): Docker.DockerOptions {
  if (!dockerHost) return {};
  if (dockerHost.startsWith("unix://")) return { socketPath: dockerHost.slice("unix://".length) };
  const url = new URL(dockerHost.includes("//") ? dockerHost : `tcp://${dockerHost}`);
  const protocol = url.protocol === "https:" || url.port === "2376" ? "https" : "http";
  return { host: url.hostname, port: url.port || 2375, protocol };
}

/** The fargate fence: own network, capabilities dropped, no privilege gain, a pids cap. */
function applyIsolation(
  options: Docker.ContainerCreateOptions,
  isolation: NonNullable<ContainerSpec["isolation"]>,
): void {
  const host = options.HostConfig ?? {};
  host.NetworkMode = isolation.network;
  host.CapDrop = ["ALL"];
  host.CapAdd = isolation.capAdd;
  host.SecurityOpt = ["no-new-privileges:true"];
  host.PidsLimit = isolation.pidsLimit;
  host.ReadonlyRootfs = isolation.readonlyRootfs;
  // Never the host's namespaces, devices or the engine's socket: none is ever mounted or shared.
  host.Privileged = false;
  if (isolation.runtime) host.Runtime = isolation.runtime;
  if (isolation.storageSize) host.StorageOpt = { size: isolation.storageSize };
  options.HostConfig = host;
  options.NetworkingConfig = {
    EndpointsConfig: { [isolation.network]: { Aliases: [isolation.alias] } },
  };
}

/** Docker's create options for a spec (pure, so unit tests can check every field). */
export function toDockerCreateOptions(spec: ContainerSpec): Docker.ContainerCreateOptions {
  const exposedPorts: Record<string, object> = {};
  const portBindings: Record<string, { HostPort: string }[]> = {};
  for (const port of spec.ports) {
    const key = `${port.containerPort}/${port.protocol}`;
    exposedPorts[key] = {};
    // An empty HostPort asks Docker for an ephemeral port.
    portBindings[key] = [{ HostPort: port.hostPort ? String(port.hostPort) : "" }];
  }
  const options: Docker.ContainerCreateOptions = {
    name: spec.name,
    Image: spec.image,
    Labels: spec.labels,
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    ExposedPorts: exposedPorts,
    StopTimeout: spec.stopTimeoutSeconds,
    HostConfig: {
      CpuShares: spec.cpuShares,
      Memory: spec.memoryBytes,
      // Same as Memory: no swap beyond the limit, so the limit means what it says.
      MemorySwap: spec.memoryBytes,
      PortBindings: portBindings,
      // The reconciler decides what happens after an exit, never the engine.
      RestartPolicy: { Name: "no" },
    },
  };
  if (spec.nanoCpus !== undefined && options.HostConfig)
    options.HostConfig.NanoCpus = spec.nanoCpus;
  if (spec.isolation && options.HostConfig) applyIsolation(options, spec.isolation);
  if (spec.logRotation && options.HostConfig) {
    options.HostConfig.LogConfig = {
      Type: "json-file",
      Config: {
        "max-size": spec.logRotation.maxSize,
        "max-file": String(spec.logRotation.maxFiles),
      },
    };
  }
  if (spec.command) options.Cmd = spec.command;
  if (spec.entryPoint) options.Entrypoint = spec.entryPoint;
  if (spec.healthCheck) {
    const check = spec.healthCheck;
    const first = check.command[0] ?? "";
    options.Healthcheck = {
      // ECS style ["CMD-SHELL", "..."]; a bare command is run without a shell.
      Test: ["CMD", "CMD-SHELL", "NONE"].includes(first)
        ? check.command
        : ["CMD", ...check.command],
      Interval: check.intervalSeconds * nanosPerSecond,
      Timeout: check.timeoutSeconds * nanosPerSecond,
      Retries: check.retries,
      StartPeriod: check.startPeriodSeconds * nanosPerSecond,
    };
  }
  return options;
}

/** Published ports from `NetworkSettings.Ports`, preferring the IPv4 binding. */
export function hostPortsFrom(ports: Record<string, unknown> | null | undefined): HostPort[] {
  const result: HostPort[] = [];
  for (const [key, value] of Object.entries(ports ?? {})) {
    if (!Array.isArray(value) || value.length === 0) continue;
    const [port, protocol = "tcp"] = key.split("/");
    const bindings = value as { HostIp?: string; HostPort?: string }[];
    const binding = bindings.find((entry) => !entry.HostIp?.includes(":")) ?? bindings[0];
    const hostPort = Number(binding?.HostPort);
    if (!hostPort) continue;
    result.push({ containerPort: Number(port), hostPort, protocol });
  }
  return result.sort((a, b) => a.containerPort - b.containerPort);
}

/** A container's state from `docker inspect`. */
export function stateFromInspect(info: Docker.ContainerInspectInfo): ContainerState {
  const state = info.State;
  const exited = state.Status === "exited" || state.Status === "dead";
  const health = state.Health?.Status;
  let error: string | null = state.Error ? state.Error : null;
  if (state.OOMKilled) error = "OutOfMemory: container killed at its memory limit";
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ""),
    image: info.Config.Image,
    labels: info.Config.Labels ?? {},
    status: state.Status as ContainerStatus,
    exitCode: exited ? state.ExitCode : null,
    health: health === "healthy" || health === "unhealthy" ? health : "unknown",
    hostPorts: hostPortsFrom(info.NetworkSettings.Ports),
    error,
    finishedAt: exited && !state.FinishedAt.startsWith("0001") ? state.FinishedAt : null,
  };
}

/** Docker's HTTP status on a refused request (dockerode errors carry it). */
function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/** The engine's own message, without dockerode's "(HTTP code 404) ..." prefix. */
function messageOf(error: unknown): string {
  const json = (error as { json?: { message?: unknown } } | null)?.json;
  if (typeof json?.message === "string") return json.message;
  return error instanceof Error ? error.message : String(error);
}

/** Stdout and stderr of a non-TTY container come multiplexed in 8-byte-header frames. */
export function demultiplexLogs(buffer: Buffer): string {
  const chunks: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const stream = buffer[offset];
    const size = buffer.readUInt32BE(offset + 4);
    // Not a frame header: the container has a TTY and its output is raw.
    if (stream === undefined || stream > 2 || buffer.readUInt16BE(offset + 1) !== 0) {
      return buffer.toString("utf8");
    }
    chunks.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** ContainerRuntime over the Docker engine API (1.41 and later), through dockerode. */
export class DockerRuntime implements ContainerRuntime {
  private readonly docker: Docker;

  constructor(opts: { docker?: Docker; dockerHost?: string } = {}) {
    this.docker = opts.docker ?? new Docker(dockerOptionsFromHost(opts.dockerHost));
  }

  async listContainers(wanted: Record<string, string>): Promise<ContainerState[]> {
    const filters = { label: Object.entries(wanted).map(([key, value]) => `${key}=${value}`) };
    const summaries = await this.docker.listContainers({ all: true, filters });
    // The list lacks exit codes and health; inspect each (a node runs tens, not thousands).
    const states = await Promise.all(summaries.map((summary) => this.inspectContainer(summary.Id)));
    return states.filter((state): state is ContainerState => state !== null);
  }

  async inspectContainer(idOrName: string): Promise<ContainerState | null> {
    try {
      return stateFromInspect(await this.docker.getContainer(idOrName).inspect());
    } catch (error) {
      // Removed between the list and the inspect, or never existed.
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  async ensureImage(image: string, auth?: RegistryAuth, signal?: AbortSignal): Promise<void> {
    try {
      await this.docker.getImage(image).inspect();
      return;
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.pull(image, {
        ...(auth ? { authconfig: auth } : {}),
        ...(signal ? { abortSignal: signal } : {}),
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (statusOf(error) === undefined) throw error;
      throw new ImagePullError(image, messageOf(error));
    }
    // Errors that happen mid-pull arrive as events in the stream, not as an HTTP status.
    await new Promise<void>((resolve, reject) => {
      // An aborted request may close the stream without an end or error event: settle here.
      const onAbort = () => reject(signal?.reason);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.docker.modem.followProgress(stream, (error: Error | null, events: unknown[]) => {
        signal?.removeEventListener("abort", onAbort);
        const failed = (events ?? []).find(
          (event): event is { error: string } =>
            typeof (event as { error?: unknown }).error === "string",
        );
        if (signal?.aborted) reject(signal.reason);
        else if (error || failed)
          reject(new ImagePullError(image, failed?.error ?? messageOf(error)));
        else resolve();
      });
    });
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    let id: string;
    try {
      id = (await this.docker.createContainer(toDockerCreateOptions(spec))).id;
    } catch (error) {
      if (statusOf(error) === undefined) throw error;
      throw new ContainerRequestError(`cannot create ${spec.name}: ${messageOf(error)}`);
    }
    await this.startContainer(id);
    return id;
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (error) {
      const status = statusOf(error);
      if (status === 304) return; // already running
      if (status === undefined) throw error;
      throw new ContainerRequestError(`cannot start ${id.slice(0, 12)}: ${messageOf(error)}`);
    }
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: timeoutSeconds });
    } catch (error) {
      // 304: already stopped; 404: already gone. Both are the state we want.
      const status = statusOf(error);
      if (status !== 304 && status !== 404) throw error;
    }
  }

  async removeContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (error) {
      // 409: a removal is already in progress.
      const status = statusOf(error);
      if (status !== 404 && status !== 409) throw error;
    }
  }

  async containerLogs(id: string, tail: number): Promise<string> {
    const output = await this.docker
      .getContainer(id)
      .logs({ stdout: true, stderr: true, tail, follow: false });
    return demultiplexLogs(Buffer.from(output));
  }

  async containerLogsSince(
    id: string,
    sinceSeconds: number,
    limits: LogReadLimits,
  ): Promise<ContainerLogLine[]> {
    let stream: NodeJS.ReadableStream;
    try {
      // Through the modem: dockerode buffers a whole answer unless it follows, and a chatty
      // container's backlog must never sit in memory at once.
      stream = await new Promise((resolve, reject) =>
        this.docker.modem.dial(
          {
            path: `/containers/${encodeURIComponent(id)}/logs?`,
            method: "GET",
            isStream: true,
            statusCodes: { 200: true, 404: "no such container", 500: "server error" },
            options: {
              stdout: true,
              stderr: true,
              timestamps: true,
              since: Math.floor(sinceSeconds),
              // The engine reads only the newest lines of its files.
              tail: limits.maxLines,
              follow: false,
            },
          },
          (error, answer) => (error ? reject(error) : resolve(answer as NodeJS.ReadableStream)),
        ),
      );
    } catch (error) {
      // 404: removed meanwhile; 409: being removed. Either way it has nothing more to say.
      const status = statusOf(error);
      if (status === 404 || status === 409) return [];
      throw error;
    }
    const newest = new NewestLines(limits.maxChars);
    const parser = new DockerLogParser((line) => newest.add(line));
    for await (const chunk of stream as AsyncIterable<Buffer>) parser.push(chunk);
    parser.end();
    return newest.take();
  }

  async listNetworks(wanted: Record<string, string>): Promise<TaskNetwork[]> {
    const networks = await this.docker.listNetworks({
      filters: {
        label: Object.entries(wanted).map(([key, value]) => (value ? `${key}=${value}` : key)),
      },
    });
    return networks.map((network) => ({
      id: network.Id,
      name: network.Name,
      labels: network.Labels ?? {},
      subnet: network.IPAM?.Config?.[0]?.Subnet,
    }));
  }

  async ensureNetwork(name: string, labels: Record<string, string>, subnet: string): Promise<void> {
    try {
      await this.docker.createNetwork({
        Name: name,
        Driver: "bridge",
        CheckDuplicate: true,
        Labels: labels,
        IPAM: { Driver: "default", Config: [{ Subnet: subnet }] },
      });
    } catch (error) {
      if (statusOf(error) === 409) return; // made by an earlier pass
      if (statusOf(error) === undefined) throw error;
      throw new ContainerRequestError(`cannot create network ${name}: ${messageOf(error)}`);
    }
  }

  async removeNetwork(name: string): Promise<void> {
    try {
      await this.docker.getNetwork(name).remove();
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  async containerCounters(id: string): Promise<ContainerCounters | null> {
    try {
      // one-shot: one sample at once, instead of the engine waiting a second for a second one.
      const stats = (await this.docker
        .getContainer(id)
        .stats({ stream: false, "one-shot": true })) as DockerStats;
      if (!stats.cpu_stats?.cpu_usage) return null;
      const memory = stats.memory_stats ?? {};
      // cgroup v1 counts page cache in usage; v2 names it inactive_file. docker stats leaves it out.
      const cache = memory.stats?.inactive_file ?? memory.stats?.total_inactive_file ?? 0;
      return {
        cpuNanos: stats.cpu_stats.cpu_usage.total_usage,
        memoryBytes: Math.max((memory.usage ?? 0) - cache, 0),
      };
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  async hostInfo(): Promise<{ cpus: number; memoryBytes: number; hostname: string }> {
    const info = (await this.docker.info()) as { NCPU: number; MemTotal: number; Name: string };
    return { cpus: info.NCPU, memoryBytes: info.MemTotal, hostname: info.Name };
  }
}
