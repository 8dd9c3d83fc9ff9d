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

/**
 * Parses `docker logs` output taken with `timestamps: true`. A non-TTY container's output is
 * multiplexed in frames (1 byte stream, 3 zero bytes, 4 bytes size); a TTY container's is raw and
 * counts as stdout. Each line starts with an RFC3339Nano timestamp, which Docker may write with
 * fewer fraction digits: they are padded to nine, so later times always compare greater.
 */
export function parseDockerLogs(buffer: Buffer): ContainerLogLine[] {
  const lines: ContainerLogLine[] = [];
  for (const frame of splitFrames(buffer)) {
    for (const raw of frame.data.toString("utf8").split("\n")) {
      const row = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (row === "") continue;
      const match = timestamped.exec(row);
      // A row without a timestamp continues the previous line's time (never seen from Docker).
      const time = match ? `${match[1]}.${(match[2] ?? "").padEnd(9, "0")}Z` : lines.at(-1)?.time;
      if (time === undefined) continue;
      const text = match ? (match[3] ?? "") : row;
      lines.push({ stream: frame.stream, time, text: text.slice(0, maxLineLength) });
    }
  }
  return lines;
}

function splitFrames(buffer: Buffer): { stream: "stdout" | "stderr"; data: Buffer }[] {
  const frames: { stream: "stdout" | "stderr"; data: Buffer }[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const stream = buffer[offset];
    // Not a frame header: the container has a TTY and its output is raw.
    if (stream === undefined || stream > 2 || buffer.readUInt16BE(offset + 1) !== 0) {
      return [{ stream: "stdout", data: buffer }];
    }
    const size = buffer.readUInt32BE(offset + 4);
    frames.push({
      stream: stream === 2 ? "stderr" : "stdout",
      data: buffer.subarray(offset + 8, offset + 8 + size),
    });
    offset += 8 + size;
  }
  if (offset < buffer.length && frames.length === 0) return [{ stream: "stdout", data: buffer }];
  return frames;
}

/**
 * The lines after `lastTime` (the newest time already shipped): `since` has one-second
 * granularity, so each read repeats the lines of the boundary second.
 */
export function linesAfter(lines: ContainerLogLine[], lastTime: string | undefined) {
  return lastTime === undefined ? lines : lines.filter((line) => line.time > lastTime);
}
