import { StringDecoder } from "node:string_decoder";

// Reading `docker logs --timestamps` output into lines, and picking the ones not shipped yet.

/** One line a container wrote, as the engine recorded it. */
export interface ContainerLogLine {
  stream: "stdout" | "stderr";
  /** RFC 3339 UTC with exactly nine fraction digits, so that string order is time order. */
  time: string;
  text: string;
}

/** Longest line text shipped; the api refuses longer ones. */
export const maxLineLength = 8192;

const timestamped = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z (.*)$/s;
/** An RFC3339Nano timestamp and its space. */
const timestampLength = 31;
/** Longest row kept while reading: the timestamp and the longest line text. */
const maxRowLength = timestampLength + maxLineLength;

type Stream = ContainerLogLine["stream"];

/**
 * Parses `docker logs` output taken with `timestamps: true` as it streams in, chunk by chunk, so
 * a large read never sits in memory whole: each line goes to `onLine` once its newline arrived,
 * cut to maxLineLength as it comes. A non-TTY container's output is multiplexed in frames (1 byte
 * stream, 3 zero bytes, 4 bytes size); a TTY container's is raw and counts as stdout. Each line
 * starts with an RFC3339Nano timestamp, which Docker may write with fewer fraction digits: they
 * are padded to nine, so later times always compare greater.
 */
export class DockerLogParser {
  private raw: boolean | undefined;
  private header = Buffer.alloc(0);
  private frameLeft = 0;
  private frameStream: Stream = "stdout";
  private lastTime: string | undefined;
  private readonly rows = {
    stdout: { decoder: new StringDecoder("utf8"), pending: "" },
    stderr: { decoder: new StringDecoder("utf8"), pending: "" },
  };

  constructor(private readonly onLine: (line: ContainerLogLine) => void) {}

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.raw === undefined) this.raw = (chunk[offset] ?? 0) > 2;
      if (this.raw) {
        this.text("stdout", chunk.subarray(offset));
        return;
      }
      if (this.frameLeft === 0) {
        const take = chunk.subarray(offset, offset + 8 - this.header.length);
        this.header = Buffer.concat([this.header, take]);
        offset += take.length;
        if (this.header.length < 8) return;
        const header = this.header;
        this.header = Buffer.alloc(0);
        // Not a frame header: the container has a TTY and its output is raw.
        if ((header[0] ?? 0) > 2 || header.readUInt16BE(1) !== 0 || header[3] !== 0) {
          this.raw = true;
          this.text("stdout", header);
          continue;
        }
        this.frameStream = header[0] === 2 ? "stderr" : "stdout";
        this.frameLeft = header.readUInt32BE(4);
        continue;
      }
      const size = Math.min(this.frameLeft, chunk.length - offset);
      this.text(this.frameStream, chunk.subarray(offset, offset + size));
      offset += size;
      this.frameLeft -= size;
    }
  }

  /** The output ended: a last row without its newline still counts. */
  end(): void {
    for (const stream of ["stdout", "stderr"] as const) {
      const row = this.rows[stream];
      row.pending += row.decoder.end();
      if (row.pending) this.finishRow(stream, row.pending);
      row.pending = "";
    }
  }

  private text(stream: Stream, bytes: Buffer): void {
    const row = this.rows[stream];
    const text = row.decoder.write(bytes);
    let start = 0;
    for (;;) {
      const newline = text.indexOf("\n", start);
      const end = newline < 0 ? text.length : newline;
      // What is beyond the longest row is dropped as it arrives, never held.
      if (row.pending.length < maxRowLength) {
        row.pending += text.slice(start, Math.min(end, start + maxRowLength - row.pending.length));
      }
      if (newline < 0) return;
      this.finishRow(stream, row.pending);
      row.pending = "";
      start = newline + 1;
    }
  }

  private finishRow(stream: Stream, raw: string): void {
    const row = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (row === "") return;
    const match = timestamped.exec(row);
    // A row without a timestamp continues the previous line's time (never seen from Docker).
    const time = match ? `${match[1]}.${(match[2] ?? "").padEnd(9, "0")}Z` : this.lastTime;
    if (time === undefined) return;
    this.lastTime = time;
    const text = match ? (match[3] ?? "") : row;
    this.onLine({ stream, time, text: text.slice(0, maxLineLength) });
  }
}

/** Parses a whole `docker logs --timestamps` answer (DockerLogParser, at once). */
export function parseDockerLogs(buffer: Buffer): ContainerLogLine[] {
  const lines: ContainerLogLine[] = [];
  const parser = new DockerLogParser((line) => lines.push(line));
  parser.push(buffer);
  parser.end();
  return lines;
}

/**
 * The newest lines of a read, within a budget of characters: older lines are dropped as newer
 * ones arrive, so what a read holds stays bounded however much the container wrote.
 */
export class NewestLines {
  private lines: ContainerLogLine[] = [];
  private head = 0;
  private chars = 0;
  /** Lines dropped to stay within the budget. */
  dropped = 0;

  constructor(private readonly maxChars: number) {}

  add(line: ContainerLogLine): void {
    this.lines.push(line);
    this.chars += line.text.length;
    while (this.chars > this.maxChars && this.head < this.lines.length - 1) {
      this.chars -= this.lines[this.head]?.text.length ?? 0;
      this.head++;
      this.dropped++;
    }
    // Compact now and then, so dropped lines do not pile up in the array.
    if (this.head > 1024 && this.head * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
  }

  /** The kept lines, oldest first. */
  take(): ContainerLogLine[] {
    return this.lines.slice(this.head);
  }
}

/**
 * The lines after `lastTime` (the newest time already shipped): `since` has one-second
 * granularity, so each read repeats the lines of the boundary second.
 */
export function linesAfter(lines: ContainerLogLine[], lastTime: string | undefined) {
  return lastTime === undefined ? lines : lines.filter((line) => line.time > lastTime);
}
