import { cpus, freemem, totalmem } from "node:os";
import type { TaskUsage, UsageSample } from "@skiff/shared";
import { type ContainerCounters, type ContainerRuntime, labels } from "./container-runtime.js";

const mib = 1024 * 1024;

/** Host cpu times summed over cores, in milliseconds. */
interface HostCpu {
  busy: number;
  total: number;
}

export interface UsageSamplerOptions {
  nodeId: string;
  runtime: ContainerRuntime;
  /** Defaults to performance.now. */
  now?: () => number;
  /** Defaults to the host's /proc through node:os. */
  hostCpu?: () => HostCpu;
  hostMemoryMiB?: () => number;
}

/**
 * Turns cumulative counters into usage since the previous sample: the host's share of busy cpu
 * and its memory in use, and each running task's cpu (percent of one core, like `docker stats`)
 * and memory. The first sample of a container gives no cpu figure yet, only its memory.
 */
export class UsageSampler {
  private readonly nodeId: string;
  private readonly runtime: ContainerRuntime;
  private readonly now: () => number;
  private readonly hostCpu: () => HostCpu;
  private readonly hostMemoryMiB: () => number;
  private previousHost: HostCpu | undefined;
  private ready: TaskUsage[] = [];
  private sampling: Promise<void> | undefined;
  private previousContainers = new Map<string, { at: number; counters: ContainerCounters }>();

  constructor(opts: UsageSamplerOptions) {
    this.nodeId = opts.nodeId;
    this.runtime = opts.runtime;
    this.now = opts.now ?? (() => performance.now());
    this.hostCpu = opts.hostCpu ?? readHostCpu;
    this.hostMemoryMiB = opts.hostMemoryMiB ?? (() => (totalmem() - freemem()) / mib);
  }

  /** The host's usage since the last call (cpu 0 on the first). */
  sampleHost(): UsageSample {
    const current = this.hostCpu();
    const previous = this.previousHost ?? current;
    this.previousHost = current;
    const total = current.total - previous.total;
    const cpuPercent = total > 0 ? ((current.busy - previous.busy) / total) * 100 : 0;
    return { cpuPercent: round(cpuPercent), memory: Math.round(this.hostMemoryMiB()) };
  }

  /**
   * The task samples taken since the last call, and a new sampling started in the background:
   * a heartbeat carries the samples ready when it leaves and never waits for the engine.
   */
  takeTaskSamples(onError: (error: unknown) => void): TaskUsage[] {
    const ready = this.ready;
    this.ready = [];
    this.sampling ??= this.sampleTasks()
      .then((samples) => {
        this.ready = samples;
      }, onError)
      .finally(() => {
        this.sampling = undefined;
      });
    return ready;
  }

  /** Each running task's usage since the last call, its containers added up. */
  async sampleTasks(): Promise<TaskUsage[]> {
    const containers = await this.runtime.listContainers({ [labels.node]: this.nodeId });
    const byTask = new Map<string, TaskUsage>();
    const seen = new Map<string, { at: number; counters: ContainerCounters }>();
    const running = containers.filter(
      (container) => container.labels[labels.task] && container.status === "running",
    );
    // In parallel: the engine answers each stats call on its own.
    const sampled = await Promise.all(
      running.map(async (container) => ({
        container,
        counters: await this.runtime.containerCounters(container.id),
        at: this.now(),
      })),
    );
    for (const { container, counters, at } of sampled) {
      const taskId = container.labels[labels.task] ?? "";
      if (!counters) continue;
      seen.set(container.id, { at, counters });
      const previous = this.previousContainers.get(container.id);
      const elapsedNanos = previous ? (at - previous.at) * 1e6 : 0;
      const cpuPercent =
        previous && elapsedNanos > 0
          ? (Math.max(counters.cpuNanos - previous.counters.cpuNanos, 0) / elapsedNanos) * 100
          : 0;
      const task = byTask.get(taskId) ?? { taskId, cpuPercent: 0, memory: 0 };
      task.cpuPercent = round(task.cpuPercent + cpuPercent);
      task.memory = round(task.memory + counters.memoryBytes / mib);
      byTask.set(taskId, task);
    }
    this.previousContainers = seen;
    return [...byTask.values()];
  }
}

function readHostCpu(): HostCpu {
  let busy = 0;
  let total = 0;
  for (const core of cpus()) {
    const { user, nice, sys, idle, irq } = core.times;
    busy += user + nice + sys + irq;
    total += user + nice + sys + irq + idle;
  }
  return { busy, total };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
