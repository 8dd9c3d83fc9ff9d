import { type LogLine, type ShipLogs, SkiffApiError } from "@skiff/shared";
import { type ContainerRuntime, type ContainerState, labels } from "./container-runtime.js";
import { type ContainerLogLine, linesAfter } from "./log-lines.js";

export interface LogShipperOptions {
  nodeId: string;
  runtime: ContainerRuntime;
  /** Sends one batch of a task's lines to the api (ApiClient.shipLogs). */
  shipLogs: (taskId: string, body: ShipLogs) => Promise<void>;
  /** Time between passes. Default 1000 ms. */
  intervalMs?: number;
  /** Called with what failed; the pass goes on with the next container and retries next time. */
  onError?: (error: unknown, context: { containerId?: string; taskId?: string }) => void;
  /** Defaults to Date.now. */
  now?: () => number;
}

/** Most lines in one upload (the api's limit). */
const maxBatchLines = 1000;
/** Most characters of line text in one upload, well under the api's 1 MiB body limit. */
const maxBatchChars = 512 * 1024;
/**
 * The api keeps a task's last 5000 lines for 7 days (apps/api task-logs.ts): a read asks the
 * engine for no more than that, so a backlog (a new chatty container, an api outage) costs one
 * bounded read, and lines the api would drop anyway are never read. A read also stays within
 * about 256 KiB: the engine streams every line the tail asks for, so the tail shrinks as the
 * container's lines grow longer (judged by its previous read).
 */
const maxLinesPerRead = 5000;
const minLinesPerRead = 100;
const maxCharsPerRead = 256 * 1024;
/** Each line costs its timestamp and frame header on the wire as well as its text. */
const lineOverheadChars = 40;
const retentionSeconds = 7 * 24 * 60 * 60;

interface Progress {
  /** Where to read from until a line was shipped (unix seconds). */
  sinceSeconds: number;
  /** The newest line time shipped; later reads skip lines up to it. */
  lastTime: string | undefined;
  /** Exited and every line shipped: nothing more to read. */
  drained: boolean;
  /** Lines the next read asks the engine for. */
  tail: number;
}

/**
 * Ships the output of this node's task containers to the api, about once a second: per
 * container, the lines since the last one shipped, or the newest of them the api would keep
 * when more came (a read is capped: a task writing faster than that loses the lines between). A failed upload is retried on the next pass
 * (lines are only marked shipped once the api took them); an exited container is read until its
 * last lines are shipped. Containers already running when the shipper starts (adopted after an
 * agent restart) are read from that moment, so a restart does not ship their history twice.
 */
export class LogShipper {
  private readonly nodeId: string;
  private readonly runtime: ContainerRuntime;
  private readonly ship: LogShipperOptions["shipLogs"];
  private readonly intervalMs: number;
  private readonly onError: NonNullable<LogShipperOptions["onError"]>;
  private readonly now: () => number;
  private readonly progress = new Map<string, Progress>();
  private firstPass = true;
  private startedAtSeconds = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private passInFlight: Promise<void> | undefined;
  /** Passes and final flushes run one at a time, so no line is read and shipped twice. */
  private serial: Promise<void> = Promise.resolve();

  constructor(opts: LogShipperOptions) {
    this.nodeId = opts.nodeId;
    this.runtime = opts.runtime;
    this.ship = opts.shipLogs;
    this.intervalMs = opts.intervalMs ?? 1000;
    this.onError = opts.onError ?? (() => {});
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedAtSeconds = Math.floor(this.now() / 1000);
    this.schedule(0);
  }

  /** Stops the passes and waits for the one in flight. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.passInFlight;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
  }

  private async tick(): Promise<void> {
    this.passInFlight = this.serialized(() => this.pass()).catch((error: unknown) =>
      this.onError(error, {}),
    );
    await this.passInFlight;
    this.passInFlight = undefined;
    if (this.running) this.schedule(this.intervalMs);
  }

  /**
   * Ships what is left of containers about to be removed: the reconciler calls it first, so a
   * task that ends between two passes keeps its last lines.
   */
  shipFinal(containers: ContainerState[]): Promise<void> {
    return this.serialized(async () => {
      for (const container of containers) {
        const taskId = container.labels[labels.task];
        await this.shipContainer(container, this.progressOf(container.id)).catch((error) =>
          this.onError(error, { containerId: container.id, ...(taskId ? { taskId } : {}) }),
        );
      }
    });
  }

  private serialized(work: () => Promise<void>): Promise<void> {
    const run = this.serial.then(work, work);
    this.serial = run.catch(() => {});
    return run;
  }

  private progressOf(containerId: string): Progress {
    let progress = this.progress.get(containerId);
    if (!progress) {
      progress = {
        sinceSeconds: this.firstPass ? this.startedAtSeconds : 0,
        lastTime: undefined,
        drained: false,
        // Until a read shows how long its lines are, as if they were about 500 characters.
        tail: 1000,
      };
      this.progress.set(containerId, progress);
    }
    return progress;
  }

  /** One pass over the node's containers. */
  async pass(): Promise<void> {
    const containers = await this.runtime.listContainers({ [labels.node]: this.nodeId });
    const seen = new Set<string>();
    for (const container of containers) {
      seen.add(container.id);
      const progress = this.progressOf(container.id);
      const taskId = container.labels[labels.task];
      try {
        await this.shipContainer(container, progress);
      } catch (error) {
        this.onError(error, { containerId: container.id, ...(taskId ? { taskId } : {}) });
      }
    }
    for (const id of this.progress.keys()) if (!seen.has(id)) this.progress.delete(id);
    this.firstPass = false;
  }

  private async shipContainer(container: ContainerState, progress: Progress): Promise<void> {
    const exited = container.status === "exited" || container.status === "dead";
    if (progress.drained && exited) return;
    progress.drained = false;
    const taskId = container.labels[labels.task];
    if (!taskId) return;
    const since = Math.max(
      progress.lastTime ? secondsOf(progress.lastTime) : progress.sinceSeconds,
      Math.floor(this.now() / 1000) - retentionSeconds,
    );
    const read = await this.runtime.containerLogsSince(container.id, since, {
      maxLines: progress.tail,
      maxChars: maxCharsPerRead,
    });
    progress.tail = tailFor(read);
    const fresh = linesAfter(read, progress.lastTime);
    if (fresh.length === 0) {
      progress.drained = exited;
      return;
    }
    const name = container.labels[labels.container] ?? container.name;
    for (const batch of batches(fresh)) {
      const lines: LogLine[] = batch.map((line) => ({ container: name, ...line }));
      try {
        await this.ship(taskId, { lines });
      } catch (error) {
        // The api will not take these (a task it does not know on this node): drop them rather
        // than retry forever. Anything else (network, 5xx) is retried on the next pass.
        if (!(error instanceof SkiffApiError && error.status < 500 && error.status !== 429))
          throw error;
        this.onError(error, { containerId: container.id, taskId });
      }
      progress.lastTime = batch.at(-1)?.time ?? progress.lastTime;
    }
  }
}

/** The tail that keeps the next read near maxCharsPerRead, judging by this read's lines. */
function tailFor(read: ContainerLogLine[]): number {
  if (read.length === 0) return 1000;
  const chars = read.reduce((total, line) => total + line.text.length + lineOverheadChars, 0);
  const perLine = chars / read.length;
  return Math.max(
    minLinesPerRead,
    Math.min(maxLinesPerRead, Math.floor(maxCharsPerRead / perLine)),
  );
}

/** Whole unix seconds of a log time ("2024-05-01T10:00:00.123456789Z"). */
function secondsOf(time: string): number {
  return Math.floor(Date.parse(`${time.slice(0, 19)}Z`) / 1000);
}

function* batches(lines: ContainerLogLine[]): Generator<ContainerLogLine[]> {
  let batch: ContainerLogLine[] = [];
  let chars = 0;
  for (const line of lines) {
    if (
      batch.length === maxBatchLines ||
      (batch.length > 0 && chars + line.text.length > maxBatchChars)
    ) {
      yield batch;
      batch = [];
      chars = 0;
    }
    batch.push(line);
    chars += line.text.length;
  }
  if (batch.length > 0) yield batch;
}
