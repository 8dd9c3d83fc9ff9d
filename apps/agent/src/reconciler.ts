import type { Assignments, TaskReport } from "@skiff/shared";
import {
  ContainerRequestError,
  type ContainerRuntime,
  type ContainerState,
  ImagePullError,
  labels,
} from "./container-runtime.js";
import {
  containerNameFor,
  containerSpecFor,
  type NodeContainerSettings,
} from "./container-spec.js";
import { defaultIsolation, type IsolationSettings } from "./isolation.js";
import {
  type CleanupAction,
  type CreateAction,
  hasExited,
  planActions,
  runningReport,
  type StopAction,
  stoppedReport,
  stopTimeoutOf,
  type TaskAction,
} from "./plan.js";
import type { RegistryAuth } from "./registry-auth.js";
import { TaskNetworks } from "./task-networks.js";

/** How long one image pull may take before its task is stopped (SKIFF_IMAGE_PULL_TIMEOUT_SECONDS). */
const defaultPullTimeoutMs = 10 * 60 * 1000;

export interface ReconcilerOptions {
  /** Only containers labelled `skiff.node=<nodeId>` are this reconciler's. */
  nodeId: string;
  runtime: ContainerRuntime;
  /** Credentials for pulling an image, for images in Skiff's own registry. */
  registryAuth?: (image: string) => RegistryAuth | undefined;
  /** Sends a task transition to the api; a rejection is retried on a later pass. */
  reportTask: (taskId: string, report: TaskReport) => Promise<void>;
  /** Time between passes when nothing triggers one. Default 2000 ms. */
  intervalMs?: number;
  /** Called with every failure of a pass or of one task's step; the loop goes on. */
  onError?: (error: unknown, context: { taskId?: string }) => void;
  /** How fargate tasks are fenced in (isolation.ts). */
  isolation?: IsolationSettings;
  /** Longest one image pull may take; then the task stops with CannotPullContainerError. Default 10 min. */
  pullTimeoutMs?: number;
  /** What the node adds to each container: its cluster label, log rotation. */
  containerSettings?: NodeContainerSettings;
  /** Runs before a stopped task's containers are removed (the log shipper's last read). */
  beforeRemove?: (containers: ContainerState[]) => Promise<void>;
}

/**
 * Brings this node's containers to its assignments, one idempotent pass at a time: a pass lists
 * the containers labelled for the node, plans per task (plan.ts) and carries the plan out.
 * Everything it needs survives an agent restart in the containers' labels, so a new instance
 * adopts what runs instead of starting it again. Each task's action runs on its own: a pass
 * starts it and goes on, so one task's slow pull or stop never holds up another task, and a task
 * with an action still under way is left out of passes until it ends (never two at once).
 */
export class Reconciler {
  private readonly nodeId: string;
  private readonly runtime: ContainerRuntime;
  private readonly registryAuth: ReconcilerOptions["registryAuth"];
  private readonly reportTask: ReconcilerOptions["reportTask"];
  private readonly intervalMs: number;
  private readonly onError: NonNullable<ReconcilerOptions["onError"]>;
  private readonly isolation: IsolationSettings;
  private readonly networks: TaskNetworks;
  private readonly pullTimeoutMs: number;
  private readonly containerSettings: NodeContainerSettings;
  private readonly beforeRemove: ReconcilerOptions["beforeRemove"];
  /** The action under way per task; a task is not planned again until its action ends. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Ends pulls under way when the reconciler stops, so stopping never waits out a pull. */
  private readonly stopping = new AbortController();
  /** Last report the api accepted per task, so a pass only sends what changed. */
  private readonly lastReports = new Map<string, TaskReport>();
  private assignments: Assignments | null = null;
  private seenTaskIds = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private passInFlight: Promise<void> | undefined;
  private passRequested = false;

  constructor(opts: ReconcilerOptions) {
    this.nodeId = opts.nodeId;
    this.runtime = opts.runtime;
    this.registryAuth = opts.registryAuth;
    this.reportTask = opts.reportTask;
    this.intervalMs = opts.intervalMs ?? 2000;
    this.onError = opts.onError ?? (() => {});
    this.isolation = opts.isolation ?? defaultIsolation;
    this.networks = new TaskNetworks(this.nodeId, this.runtime, this.isolation);
    this.pullTimeoutMs = opts.pullTimeoutMs ?? defaultPullTimeoutMs;
    this.containerSettings = opts.containerSettings ?? {};
    this.beforeRemove = opts.beforeRemove;
  }

  /**
   * Replaces the desired state. Until the first call, passes do nothing: without assignments
   * every container would look like an orphan.
   */
  setAssignments(assignments: Assignments): void {
    this.assignments = assignments;
    this.trigger();
  }

  /** Starts the pass loop (first pass at once). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /**
   * Stops the loop and waits for a pass and the task actions in flight (pulls are cut short).
   * Containers are left as they are.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.passInFlight;
    await this.settled();
  }

  /** Asks for a pass soon (after the one in flight, if any). */
  trigger(): void {
    if (!this.running) return;
    if (this.passInFlight) this.passRequested = true;
    else this.schedule(0);
  }

  /**
   * Runs one pass now, after any pass in flight (never two at once), and waits for the task
   * actions under way to end. The loop itself never waits for them.
   */
  async reconcileOnce(): Promise<void> {
    await this.passOnce();
    await this.settled();
  }

  private async passOnce(): Promise<void> {
    while (this.passInFlight) await this.passInFlight.catch(() => {});
    const pass = this.pass();
    this.passInFlight = pass;
    try {
      await pass;
    } finally {
      this.passInFlight = undefined;
    }
  }

  /** Resolves once no task action is under way. */
  private async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight.values());
  }

  /**
   * Task ids this node had containers for at the last pass, for the heartbeat. Never asks the
   * engine: a busy engine must not delay a heartbeat into the node-down window.
   */
  listTaskIds(): string[] {
    return [...this.seenTaskIds].sort();
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    try {
      await this.passOnce();
    } catch (error) {
      this.onError(error, {});
    }
    if (!this.running) return;
    const again = this.passRequested;
    this.passRequested = false;
    this.schedule(again ? 0 : this.intervalMs);
  }

  private async pass(): Promise<void> {
    const assignments = this.assignments;
    if (!assignments) return;
    // Tasks busy when the list was taken are left out too: the list may predate their action.
    const busy = new Set(this.inFlight.keys());
    const actual = await this.runtime.listContainers({ [labels.node]: this.nodeId });
    this.seenTaskIds = new Set(actual.flatMap((container) => container.labels[labels.task] ?? []));
    const actions = planActions(assignments.assignments, actual, this.lastReports);
    for (const action of actions) {
      if (!busy.has(action.taskId) && !this.inFlight.has(action.taskId)) this.begin(action);
    }
    // Forget reports of tasks the api no longer assigns and that left no container behind.
    const known = new Set([
      ...assignments.assignments.map((assignment) => assignment.taskId),
      ...actual.map((container) => container.labels[labels.task]),
    ]);
    for (const taskId of this.lastReports.keys()) {
      if (!known.has(taskId)) this.lastReports.delete(taskId);
    }
    // Networks outlive their task's containers by a pass at most.
    const wanted = assignments.assignments.filter((a) => a.desiredStatus === "running");
    const withContainers = actual.filter((container) => !hasExited(container));
    await this.networks.removeExcept(
      new Set([
        ...wanted.map((assignment) => assignment.taskId),
        ...withContainers.map((container) => container.labels[labels.task] ?? ""),
      ]),
    );
  }

  /**
   * Starts a task's action without waiting for it: tasks are independent, so one slow stop or
   * pull must not hold up the others. Its end asks for a pass, which plans the task again.
   */
  private begin(action: TaskAction): void {
    const { taskId } = action;
    const work = this.carryOut(action)
      .catch((error: unknown) => this.onError(error, { taskId }))
      .finally(() => {
        this.inFlight.delete(taskId);
        this.trigger();
      });
    this.inFlight.set(taskId, work);
  }

  private carryOut(action: TaskAction): Promise<void> {
    switch (action.kind) {
      case "create":
        return this.ensureStarted(action);
      case "stop":
        return this.ensureStopped(action);
      case "cleanup":
        return this.ensureRemoved(action);
      case "report":
        return this.ensureReported(action.taskId, action.report);
    }
  }

  /** Sends a report unless the api already has this exact one. */
  private async ensureReported(taskId: string, report: TaskReport): Promise<void> {
    const last = this.lastReports.get(taskId);
    if (last && JSON.stringify(last) === JSON.stringify(report)) return;
    await this.reportTask(taskId, report);
    this.lastReports.set(taskId, report);
  }

  private async ensureStarted(action: CreateAction): Promise<void> {
    const { assignment, taskId } = action;
    await this.ensureReported(taskId, runningReport(assignment, action.toStart));
    try {
      // Every image first, so a missing one fails the task before anything is created.
      for (const image of new Set(action.missing.map((definition) => definition.image))) {
        await this.pull(image);
      }
      if (assignment.launchType === "fargate" && action.missing.length > 0)
        await this.networks.ensureFor(taskId);
      for (const definition of action.missing) {
        // A create that timed out on our side may have happened anyway: adopt, never duplicate.
        const existing = await this.runtime.inspectContainer(
          containerNameFor(taskId, definition.name),
        );
        if (existing && existing.labels[labels.task] === taskId) {
          if (existing.status === "created") await this.runtime.startContainer(existing.id);
          continue;
        }
        await this.runtime.createContainer(
          containerSpecFor(
            this.nodeId,
            assignment,
            definition,
            this.isolation,
            this.containerSettings,
          ),
        );
      }
      for (const container of action.toStart) await this.runtime.startContainer(container.id);
    } catch (error) {
      if (!(error instanceof ImagePullError || error instanceof ContainerRequestError)) throw error;
      const containers = await this.taskContainers(taskId);
      // As ECS words it: the stop code says the task failed to start, the reason says why.
      const reason =
        error instanceof ImagePullError
          ? `CannotPullContainerError: ${error.message}`
          : error.message;
      await this.ensureReported(
        taskId,
        stoppedReport(assignment, containers, "TaskFailedToStart", reason),
      );
      await Promise.all(containers.map((container) => this.runtime.removeContainer(container.id)));
      return;
    }
    await this.ensureReported(taskId, runningReport(assignment, await this.taskContainers(taskId)));
  }

  /**
   * Pulls an image unless present, within the pull timeout: a registry that accepts and never
   * answers must end in a stopped task, not a task pending forever.
   */
  private async pull(image: string): Promise<void> {
    const timeout = AbortSignal.timeout(this.pullTimeoutMs);
    try {
      await this.runtime.ensureImage(
        image,
        this.registryAuth?.(image),
        AbortSignal.any([timeout, this.stopping.signal]),
      );
    } catch (error) {
      // Stopping the agent is not the pull's failure: the task is left to the next agent.
      if (!timeout.aborted || this.stopping.signal.aborted) throw error;
      const seconds = Math.round(this.pullTimeoutMs / 1000);
      throw new ImagePullError(image, `no pull finished within ${seconds} s`);
    }
  }

  private async ensureStopped(action: StopAction): Promise<void> {
    const { assignment, taskId } = action;
    await Promise.all(
      action.containers
        .filter((container) => !hasExited(container))
        .map((container) => this.runtime.stopContainer(container.id, stopTimeoutOf(container))),
    );
    // Read the exit codes back before anything is removed: they are the report's substance.
    const containers = await this.taskContainers(taskId);
    await this.ensureReported(
      taskId,
      stoppedReport(assignment, containers, action.stopCode, action.reason),
    );
    await this.beforeRemove?.(containers);
    await Promise.all(containers.map((container) => this.runtime.removeContainer(container.id)));
  }

  private async ensureRemoved(action: CleanupAction): Promise<void> {
    await Promise.all(
      action.containers.map(async (container) => {
        if (!hasExited(container)) {
          await this.runtime.stopContainer(container.id, stopTimeoutOf(container));
        }
        await this.runtime.removeContainer(container.id);
      }),
    );
  }

  private taskContainers(taskId: string): Promise<ContainerState[]> {
    return this.runtime.listContainers({ [labels.node]: this.nodeId, [labels.task]: taskId });
  }
}
