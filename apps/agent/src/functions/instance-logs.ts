import type { Readable } from "node:stream";
import { functionLimits, type LogLine } from "@skiff/shared";
import { DockerLogParser, maxLineLength } from "../log-lines.js";

/** Ships a batch of one function's lines (POST /v1/agent/nodes/:id/function-logs). */
export type ShipFunctionLogs = (functionId: string, lines: LogLine[]) => Promise<void>;

/** Lines held per function while the api cannot be reached; older ones are dropped past it. */
const maxHeldLines = 10_000;
const maxBatch = 1000;

/**
 * Function log lines on their way to the api: gathered per function and sent in batches once a
 * second (never on an invocation's path), held and retried while the api does not answer.
 */
export class FunctionLogShipper {
  private readonly pending = new Map<string, LogLine[]>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly ship: ShipFunctionLogs,
    private readonly onError: (error: unknown) => void,
    private readonly intervalMs = 1000,
  ) {}

  add(functionId: string, line: LogLine): void {
    let lines = this.pending.get(functionId);
    if (!lines) {
      lines = [];
      this.pending.set(functionId, lines);
    }
    lines.push(line);
    if (lines.length > maxHeldLines) lines.splice(0, lines.length - maxHeldLines);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.intervalMs);
  }

  /** Sends what is pending now (also at stop); failed batches are kept for the next flush. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      for (const [functionId, lines] of [...this.pending]) {
        while (lines.length > 0) {
          const batch = lines.slice(0, maxBatch);
          try {
            await this.ship(functionId, batch);
          } catch (error) {
            this.onError(error);
            this.timer ??= setTimeout(() => {
              this.timer = undefined;
              void this.flush();
            }, this.intervalMs * 5);
            return;
          }
          lines.splice(0, batch.length);
        }
        if (lines.length === 0) this.pending.delete(functionId);
      }
    });
    return this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}

/** What REPORT says of one invocation. */
export interface InvocationReport {
  durationMs: number;
  billedDurationMs: number;
  memorySizeMb: number;
  maxMemoryUsedMb: number;
  initDurationMs?: number | undefined;
}

/** The REPORT line as Lambda writes it (tab-separated). */
export function reportLine(requestId: string, report: InvocationReport): string {
  const parts = [
    `REPORT RequestId: ${requestId}`,
    `Duration: ${report.durationMs.toFixed(2)} ms`,
    `Billed Duration: ${report.billedDurationMs} ms`,
    `Memory Size: ${report.memorySizeMb} MB`,
    `Max Memory Used: ${report.maxMemoryUsedMb} MB`,
  ];
  if (report.initDurationMs !== undefined)
    parts.push(`Init Duration: ${report.initDurationMs.toFixed(2)} ms`);
  return parts.join("\t");
}

/**
 * One instance's log: its container's output followed as it comes, framed per invocation by
 * START, END and REPORT lines, with the current invocation's text kept for the log tail.
 */
export class InstanceLog {
  private tail: string[] = [];
  private tailBytes = 0;
  private lastOutputAt = 0;

  constructor(
    private readonly instanceId: string,
    private readonly functionId: string,
    private readonly shipper: FunctionLogShipper,
  ) {}

  /** Follows the container's output until the stream ends (the container is gone). */
  follow(stream: Readable): void {
    const parser = new DockerLogParser((line) => {
      this.lastOutputAt = Date.now();
      this.push({
        container: this.instanceId,
        stream: line.stream,
        time: line.time,
        text: line.text,
      });
    });
    stream.on("data", (chunk: Buffer) => parser.push(chunk));
    stream.on("end", () => parser.end());
    stream.on("error", () => parser.end());
  }

  start(requestId: string): void {
    this.tail = [];
    this.tailBytes = 0;
    this.write(`START RequestId: ${requestId} Version: $LATEST`);
  }

  end(requestId: string, report: InvocationReport): void {
    this.write(`END RequestId: ${requestId}`);
    this.write(reportLine(requestId, report));
  }

  /** A line of the platform's own (a timeout, a crash), as Lambda writes them. */
  write(text: string): void {
    this.push({
      container: this.instanceId,
      stream: "stdout",
      time: new Date().toISOString(),
      text,
    });
  }

  /**
   * Waits for the container's output to be quiet for a few ms (at most `maxWaitMs`): its lines
   * reach the engine's log a moment after the runtime answered. Only invocations that asked for
   * the log tail pay it, never the others.
   */
  async settle(maxWaitMs = 150, quietMs = 25): Promise<void> {
    const started = Date.now();
    const until = started + maxWaitMs;
    // Quiet counted from the answer too: a line still on its way through the engine's log
    // stream when the runtime answered has not moved lastOutputAt yet.
    while (Date.now() < until && Date.now() - Math.max(this.lastOutputAt, started) < quietMs)
      await new Promise((done) => setTimeout(done, 2));
  }

  /** The current invocation's last 4 KB of log (START to REPORT). */
  tailText(): string {
    const bytes = Buffer.from(this.tail.join(""));
    return bytes.length > functionLimits.logTailBytes
      ? bytes.subarray(bytes.length - functionLimits.logTailBytes).toString("utf8")
      : bytes.toString("utf8");
  }

  private push(line: LogLine): void {
    const text = line.text.slice(0, maxLineLength);
    const row = `${text}\n`;
    this.tail.push(row);
    this.tailBytes += Buffer.byteLength(row);
    while (this.tailBytes > functionLimits.logTailBytes * 2 && this.tail.length > 1)
      this.tailBytes -= Buffer.byteLength(this.tail.shift() ?? "");
    this.shipper.add(this.functionId, { ...line, text });
  }
}
