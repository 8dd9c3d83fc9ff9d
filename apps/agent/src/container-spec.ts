import type { Assignment, ContainerDefinition } from "@skiff/shared";
import {
  ContainerRequestError,
  type ContainerSpec,
  type LogRotation,
  labels,
} from "./container-runtime.js";
import {
  defaultIsolation,
  fargateCapabilities,
  type IsolationSettings,
  taskNetworkName,
} from "./isolation.js";

const mebibyte = 1024 * 1024;
/** Docker refuses caps below 0.01 cpu. */
const minimumNanoCpus = 10_000_000;

/** The name a task's container gets on the engine: unique per task, readable in `docker ps`. */
export function containerNameFor(taskId: string, containerName: string): string {
  return `skiff-${taskId}-${containerName}`;
}

/** What the node adds to every container it creates. */
export interface NodeContainerSettings {
  /** The install the node belongs to, as the api said at registration (`skiff.cluster`). */
  clusterId?: string;
  /** Rotation of the container's log files; absent: the engine's default logging. */
  logRotation?: LogRotation;
}

/**
 * What to create for one container of an assignment. The labels carry everything the
 * reconciler needs to recognise the container after an agent restart.
 */
export function containerSpecFor(
  nodeId: string,
  assignment: Assignment,
  container: ContainerDefinition,
  isolation: IsolationSettings = defaultIsolation,
  node: NodeContainerSettings = {},
): ContainerSpec {
  const specLabels: Record<string, string> = {
    [labels.task]: assignment.taskId,
    [labels.family]: assignment.family,
    [labels.revision]: String(assignment.revision),
    [labels.node]: nodeId,
    [labels.container]: container.name,
    [labels.stopTimeout]: String(container.stopTimeoutSeconds),
  };
  if (assignment.service) specLabels[labels.service] = assignment.service;
  if (node.clusterId) specLabels[labels.cluster] = node.clusterId;

  const spec: ContainerSpec = {
    name: containerNameFor(assignment.taskId, container.name),
    image: container.image,
    labels: specLabels,
    env: { ...container.env, ...secretEnv(assignment, container) },
    // Docker's minimum weight is 2; the container's own reservation, else the task's.
    cpuShares: Math.max(2, container.cpu ?? assignment.cpu),
    memoryBytes: (container.memory ?? assignment.memory) * mebibyte,
    ports: (container.portMappings ?? []).map((mapping) => ({
      containerPort: mapping.containerPort,
      hostPort: mapping.hostPort,
      protocol: mapping.protocol,
    })),
    stopTimeoutSeconds: container.stopTimeoutSeconds,
  };
  // The task's cpu is a hard cap, as on Fargate: each container may use at most all of it.
  if (assignment.cpu > 0) {
    spec.nanoCpus = Math.max(minimumNanoCpus, Math.round((assignment.cpu / 1024) * 1e9));
  }
  if (node.logRotation) spec.logRotation = node.logRotation;
  if (container.command) spec.command = container.command;
  if (container.entryPoint) spec.entryPoint = container.entryPoint;
  if (container.healthCheck) spec.healthCheck = container.healthCheck;
  if (assignment.launchType === "fargate") {
    spec.isolation = {
      network: taskNetworkName(assignment.taskId),
      alias: container.name,
      capAdd: [...fargateCapabilities],
      pidsLimit: isolation.pidsLimit,
      readonlyRootfs: container.readonlyRootFilesystem ?? false,
      ...(isolation.runtime ? { runtime: isolation.runtime } : {}),
      ...(isolation.storageSize ? { storageSize: isolation.storageSize } : {}),
    };
  }
  return spec;
}

/**
 * The container's `secrets` as environment variables, from the values the api sent with this
 * assignment only. A value that did not come fails the task rather than start it without it.
 * Errors name the variable and the secret, never a value.
 */
function secretEnv(assignment: Assignment, container: ContainerDefinition): Record<string, string> {
  const env: Record<string, string> = {};
  for (const secret of container.secrets ?? []) {
    const value = assignment.secrets?.[secret.valueFrom];
    if (value === undefined) {
      throw new ContainerRequestError(
        `container ${container.name}: the value of secret ${secret.valueFrom} (env ${secret.name}) was not delivered`,
      );
    }
    env[secret.name] = value;
  }
  return env;
}
