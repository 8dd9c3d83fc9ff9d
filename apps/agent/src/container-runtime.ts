import type { ContainerLogLine } from "./log-lines.js";
import type { RegistryAuth } from "./registry-auth.js";

// The agent's view of a container engine: just what reconciling tasks needs, so the reconciler
// stays readable and another engine (or a fake in a unit test) could stand in for Docker.

/** Labels on every container Skiff starts; the reconciler finds its containers by them. */
export const labels = {
  task: "skiff.task",
  family: "skiff.family",
  revision: "skiff.revision",
  node: "skiff.node",
  /**
   * The Skiff install (the api's cluster id): an agent registering anew removes only containers
   * of its own install, never those of another install sharing the engine.
   */
  cluster: "skiff.cluster",
  container: "skiff.container",
  service: "skiff.service",
  /** Seconds a stop waits before SIGKILL, kept so orphans are stopped as gently as tasks. */
  stopTimeout: "skiff.stop-timeout",
} as const;

/** A published port: the container port and the host port it is reachable at. */
export interface HostPort {
  containerPort: number;
  hostPort: number;
  protocol: string;
}

/** What to create: engine-neutral, built from an assignment by `containerSpecFor`. */
export interface ContainerSpec {
  name: string;
  image: string;
  labels: Record<string, string>;
  command?: string[];
  entryPoint?: string[];
  env: Record<string, string>;
  /** Relative cpu weight (cpu units). */
  cpuShares: number;
  /** Hard cpu cap in nano cpus; absent: no cap. */
  nanoCpus?: number;
  /** Hard memory limit in bytes (swap is not allowed on top of it). */
  memoryBytes: number;
  /** hostPort absent: the engine picks an ephemeral port. */
  ports: { containerPort: number; hostPort?: number; protocol: "tcp" | "udp" }[];
  healthCheck?: {
    command: string[];
    intervalSeconds: number;
    timeoutSeconds: number;
    retries: number;
    startPeriodSeconds: number;
  };
  stopTimeoutSeconds: number;
  /** json-file logs with rotation; absent: the engine's default logging. */
  logRotation?: LogRotation;
  /** The fargate fence (isolation.ts); absent for pool tasks, which run with Docker's defaults. */
  isolation?: {
    /** The task's own network, joined under the container's name. */
    network: string;
    alias: string;
    capAdd: string[];
    pidsLimit: number;
    readonlyRootfs: boolean;
    runtime?: string;
    storageSize?: string;
  };
}

/** A network Skiff made for one task. */
export interface TaskNetwork {
  id: string;
  name: string;
  labels: Record<string, string>;
  subnet: string | undefined;
}

/** The engine's states, as Docker names them. */
export type ContainerStatus =
  | "created"
  | "running"
  | "paused"
  | "restarting"
  | "removing"
  | "exited"
  | "dead";

/** A container as it is now. */
export interface ContainerState {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  status: ContainerStatus;
  /** Set once the container has exited. */
  exitCode: number | null;
  health: "unknown" | "healthy" | "unhealthy";
  hostPorts: HostPort[];
  /** Why it ended when the engine knows more than the exit code (OOM, start error). */
  error: string | null;
  /** When it exited, ISO time; null while it has not. */
  finishedAt: string | null;
}

/** Cumulative counters of one container, for usage between two samples. */
export interface ContainerCounters {
  /** cpu time used since the container started, in nanoseconds. */
  cpuNanos: number;
  /** Memory in use now, page cache left out (as `docker stats` shows it), in bytes. */
  memoryBytes: number;
}

/** Caps of one read of a container's log. */
export interface LogReadLimits {
  maxLines: number;
  maxChars: number;
}

/** Rotation of a container's log files on the node, so a chatty task cannot fill its disk. */
export interface LogRotation {
  /** Size of one file before it rotates, as Docker takes it: 10m, 512k. */
  maxSize: string;
  /** Files kept, the current one included. */
  maxFiles: number;
}

/** An image could not be found locally nor pulled. */
export class ImagePullError extends Error {
  override name = "ImagePullError";
  constructor(
    readonly image: string,
    cause: string,
  ) {
    super(`cannot pull image ${image}: ${cause}`);
  }
}

/**
 * The engine refused a request about one container (bad options, port taken...). Unlike a
 * connection error, retrying the same request will not help: the task failed to start.
 */
export class ContainerRequestError extends Error {
  override name = "ContainerRequestError";
}

/** The operations the reconciler needs from a container engine. */
export interface ContainerRuntime {
  /** All containers (running or not) carrying every one of these labels. */
  listContainers(labels: Record<string, string>): Promise<ContainerState[]>;
  /** One container by id or name; null when there is none. */
  inspectContainer(idOrName: string): Promise<ContainerState | null>;
  /**
   * Pulls the image only when it is not present locally, with `auth` when given (Skiff's own
   * registry); throws ImagePullError. An aborted `signal` ends the pull: rejects with its reason.
   */
  ensureImage(image: string, auth?: RegistryAuth, signal?: AbortSignal): Promise<void>;
  /** Creates and starts a container; returns its id. Throws ContainerRequestError when refused. */
  createContainer(spec: ContainerSpec): Promise<string>;
  /** Starts a created (or exited) container. */
  startContainer(id: string): Promise<void>;
  /** SIGTERM (or the image's stop signal), then SIGKILL after the timeout. No-op when stopped. */
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  /** Removes a container, forcing it down if it still runs. No-op when already gone. */
  removeContainer(id: string): Promise<void>;
  /** The last lines of a container's stdout and stderr. */
  containerLogs(id: string, tail: number): Promise<string>;
  /**
   * A container's lines from `sinceSeconds` (unix time; whole seconds) on, oldest first: only the
   * newest `limits.maxLines` of them, and of those the newest within `limits.maxChars` of text.
   * Read as a stream, so memory stays bounded whatever the container wrote.
   */
  containerLogsSince(
    id: string,
    sinceSeconds: number,
    limits: LogReadLimits,
  ): Promise<ContainerLogLine[]>;
  /** Skiff's networks carrying every one of these labels (an empty value: any value). */
  listNetworks(labels: Record<string, string>): Promise<TaskNetwork[]>;
  /** Creates a bridge network on `subnet` unless one of this name exists. */
  ensureNetwork(name: string, labels: Record<string, string>, subnet: string): Promise<void>;
  /** Removes a network; no-op when it is gone. */
  removeNetwork(name: string): Promise<void>;
  /** A running container's counters; null when it is gone or not running. */
  containerCounters(id: string): Promise<ContainerCounters | null>;
  /** Host resources the engine sees, for the node's capacity. */
  hostInfo(): Promise<{ cpus: number; memoryBytes: number; hostname: string }>;
}
