import type {
  Assignment,
  ContainerDefinition,
  StopCode,
  TaskContainer,
  TaskReport,
} from "@skiff/shared";
import { type ContainerState, labels } from "./container-runtime.js";

// Deciding what to do is pure: the latest assignments, the containers that exist and what was
// last reported in, actions out. The reconciler only carries them out, so every decision here
// is unit-tested without an engine.

/** Create the missing containers of a task (and start any left created), then report. */
export interface CreateAction {
  kind: "create";
  taskId: string;
  assignment: Assignment;
  missing: ContainerDefinition[];
  toStart: ContainerState[];
}

/** Stop a task's containers, report it stopped (exit codes included), then remove them. */
export interface StopAction {
  kind: "stop";
  taskId: string;
  assignment: Assignment;
  containers: ContainerState[];
  stopCode?: StopCode;
  reason?: string;
}

/** Stop and remove containers without reporting: orphans, or a task already reported stopped. */
export interface CleanupAction {
  kind: "cleanup";
  taskId: string;
  containers: ContainerState[];
}

/** Nothing to change on the engine; make sure the api knows this state. */
export interface ReportAction {
  kind: "report";
  taskId: string;
  report: TaskReport;
}

export type TaskAction = CreateAction | StopAction | CleanupAction | ReportAction;

/** Seconds to wait before SIGKILL when a container carries no stop timeout label. */
const defaultStopTimeoutSeconds = 10;

/** The container's own stop timeout (its label), so every stop is as gentle as the task asked. */
export function stopTimeoutOf(container: ContainerState): number {
  const seconds = Number(container.labels[labels.stopTimeout]);
  return Number.isInteger(seconds) && seconds >= 0 ? seconds : defaultStopTimeoutSeconds;
}

/** True once a container ended (or is being removed): it will not run again by itself. */
export function hasExited(container: ContainerState): boolean {
  return (
    container.status === "exited" || container.status === "dead" || container.status === "removing"
  );
}

/** The actions that bring the actual containers to the assignments, one per task at most. */
export function planActions(
  assignments: readonly Assignment[],
  actual: readonly ContainerState[],
  lastReports: ReadonlyMap<string, TaskReport>,
): TaskAction[] {
  const byTask = new Map<string, ContainerState[]>();
  for (const container of actual) {
    const taskId = container.labels[labels.task];
    if (!taskId) continue;
    byTask.set(taskId, [...(byTask.get(taskId) ?? []), container]);
  }

  const actions: TaskAction[] = [];
  const assigned = new Set<string>();
  for (const assignment of assignments) {
    assigned.add(assignment.taskId);
    const action = planTask(
      assignment,
      byTask.get(assignment.taskId) ?? [],
      lastReports.get(assignment.taskId),
    );
    if (action) actions.push(action);
  }
  for (const [taskId, containers] of byTask) {
    if (!assigned.has(taskId)) actions.push({ kind: "cleanup", taskId, containers });
  }
  return actions;
}

/** The one action a task needs now, or null when it needs nothing. */
export function planTask(
  assignment: Assignment,
  containers: ContainerState[],
  lastReport: TaskReport | undefined,
): TaskAction | null {
  const taskId = assignment.taskId;
  // A task this agent reported stopped never runs again here, whatever the assignment still
  // says: the api (or a service) starts a new task instead, as in ECS.
  if (lastReport?.status === "stopped") {
    return containers.length > 0 ? { kind: "cleanup", taskId, containers } : null;
  }
  if (assignment.desiredStatus === "stopped") {
    if (containers.length > 0) return { kind: "stop", taskId, assignment, containers };
    return { kind: "report", taskId, report: stoppedReport(assignment, []) };
  }

  const exitedEssential = assignment.containers
    .filter((definition) => definition.essential)
    .map((definition) => containerNamed(containers, definition.name))
    .filter((container): container is ContainerState => !!container && hasExited(container))
    .sort((a, b) => (a.finishedAt ?? "").localeCompare(b.finishedAt ?? ""))[0];
  if (exitedEssential) {
    const name = exitedEssential.labels[labels.container];
    return {
      kind: "stop",
      taskId,
      assignment,
      containers,
      stopCode: "EssentialContainerExited",
      reason: `Essential container ${name} exited with code ${exitedEssential.exitCode ?? "unknown"}`,
    };
  }

  const missing = assignment.containers.filter(
    (definition) => !containerNamed(containers, definition.name),
  );
  const toStart = containers.filter((container) => container.status === "created");
  if (missing.length > 0 || toStart.length > 0) {
    return { kind: "create", taskId, assignment, missing, toStart };
  }
  return { kind: "report", taskId, report: runningReport(assignment, containers) };
}

function containerNamed(containers: ContainerState[], name: string): ContainerState | undefined {
  return containers.find((container) => container.labels[labels.container] === name);
}

function describeContainer(
  definition: ContainerDefinition,
  container: ContainerState | undefined,
  absent: "pending" | "stopped",
): TaskContainer {
  if (!container) {
    return {
      name: definition.name,
      image: definition.image,
      status: absent,
      containerId: null,
      exitCode: null,
      reason: null,
      health: "unknown",
      hostPorts: [],
    };
  }
  const exited = hasExited(container);
  return {
    name: definition.name,
    image: definition.image,
    status: exited ? "stopped" : container.status === "created" ? "pending" : "running",
    containerId: container.id,
    exitCode: exited ? container.exitCode : null,
    reason: container.error,
    health: container.health,
    // Ports of a stopped container are gone; reporting stale ones would route traffic to them.
    hostPorts: exited ? [] : container.hostPorts,
  };
}

/** The report of a task that should run: running once every essential container runs. */
export function runningReport(assignment: Assignment, containers: ContainerState[]): TaskReport {
  const described = assignment.containers.map((definition) =>
    describeContainer(definition, containerNamed(containers, definition.name), "pending"),
  );
  const allEssentialRunning = assignment.containers.every(
    (definition, index) => !definition.essential || described[index]?.status === "running",
  );
  return { status: allEssentialRunning ? "running" : "pending", containers: described };
}

/** The report of a stopped task, with the exit code of every container that ran. */
export function stoppedReport(
  assignment: Assignment,
  containers: ContainerState[],
  stopCode?: StopCode,
  reason?: string,
): TaskReport {
  const report: TaskReport = {
    status: "stopped",
    containers: assignment.containers.map((definition) => {
      const described = describeContainer(
        definition,
        containerNamed(containers, definition.name),
        "stopped",
      );
      return { ...described, status: "stopped", hostPorts: [] };
    }),
  };
  if (stopCode) report.stopCode = stopCode;
  if (reason) report.reason = reason.slice(0, 1024);
  return report;
}
