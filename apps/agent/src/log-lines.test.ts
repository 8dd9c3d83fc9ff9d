import { describe, expect, it } from "vitest";
import { DockerLogParser, linesAfter, NewestLines, parseDockerLogs } from "./log-lines.js";

function frame(stream: 1 | 2, text: string): Buffer {
  const data = Buffer.from(text, "utf8");
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

describe("parseDockerLogs", () => {
  it("separates stdout from stderr in order and strips the timestamp", () => {
    const buffer = Buffer.concat([
      frame(1, "2024-05-01T10:00:00.000000001Z hello\n"),
      frame(2, "2024-05-01T10:00:00.5Z oops: bad\n"),
      frame(1, "2024-05-01T10:00:01.123456789Z bye \n"),
    ]);
    expect(parseDockerLogs(buffer)).toEqual([
      { stream: "stdout", time: "2024-05-01T10:00:00.000000001Z", text: "hello" },
      { stream: "stderr", time: "2024-05-01T10:00:00.500000000Z", text: "oops: bad" },
      { stream: "stdout", time: "2024-05-01T10:00:01.123456789Z", text: "bye " },
    ]);
  });

  it("reads a TTY container's raw output as stdout, and pads times without a fraction", () => {
    const raw = Buffer.from("2024-05-01T10:00:02Z one\r\n2024-05-01T10:00:02.25Z two\r\n");
    expect(parseDockerLogs(raw)).toEqual([
      { stream: "stdout", time: "2024-05-01T10:00:02.000000000Z", text: "one" },
      { stream: "stdout", time: "2024-05-01T10:00:02.250000000Z", text: "two" },
    ]);
  });

  it("cuts lines longer than the api takes", () => {
    const [line] = parseDockerLogs(frame(1, `2024-05-01T10:00:00Z ${"x".repeat(10_000)}\n`));
    expect(line?.text).toHaveLength(8192);
  });
});

describe("linesAfter", () => {
  it("skips the boundary second's lines already shipped, keeping later ones", () => {
    const first = parseDockerLogs(
      Buffer.concat([
        frame(1, "2024-05-01T10:00:00.1Z a\n"),
        frame(1, "2024-05-01T10:00:00.2Z b\n"),
      ]),
    );
    const last = first.at(-1)?.time;
    // The next read, `since` the boundary second, repeats a and b.
    const again = parseDockerLogs(
      Buffer.concat([
        frame(1, "2024-05-01T10:00:00.1Z a\n"),
        frame(1, "2024-05-01T10:00:00.2Z b\n"),
        frame(2, "2024-05-01T10:00:00.25Z c\n"),
        frame(1, "2024-05-01T10:00:01Z d\n"),
      ]),
    );
    expect(linesAfter(again, last).map((line) => line.text)).toEqual(["c", "d"]);
    expect(linesAfter(again, undefined)).toHaveLength(4);
  });
});

describe("DockerLogParser", () => {
  it("gives the same lines however the stream is cut, mid-header and mid-character", () => {
    const buffer = Buffer.concat([
      frame(1, "2024-05-01T10:00:00.1Z héllo wörld\n"),
      frame(2, "2024-05-01T10:00:00.2Z oops\n"),
      frame(1, "2024-05-01T10:00:00.3Z split "),
      frame(1, "across frames\n2024-05-01T10:00:00.4Z last without newline"),
    ]);
    const whole = parseDockerLogs(buffer);
    expect(whole.map((line) => line.text)).toEqual([
      "héllo wörld",
      "oops",
      "split across frames",
      "last without newline",
    ]);
    for (const size of [1, 3, 7, 13]) {
      const lines: unknown[] = [];
      const parser = new DockerLogParser((line) => lines.push(line));
      for (let at = 0; at < buffer.length; at += size) parser.push(buffer.subarray(at, at + size));
      parser.end();
      expect(lines).toEqual(whole);
    }
  });

  it("never holds more of an endless line than the api takes", () => {
    const lines: { text: string }[] = [];
    const parser = new DockerLogParser((line) => lines.push(line));
    const chunk = "x".repeat(64 * 1024);
    const header = Buffer.alloc(8);
    header[0] = 1;
    header.writeUInt32BE(31 + chunk.length * 100 + 1, 4);
    parser.push(Buffer.concat([header, Buffer.from("2024-05-01T10:00:00.000000000Z ")]));
    for (let i = 0; i < 100; i++) parser.push(Buffer.from(chunk));
    parser.push(Buffer.from("\n"));
    expect(lines.map((line) => line.text.length)).toEqual([8192]);
  });
});

describe("NewestLines", () => {
  it("keeps the newest lines within its character budget", () => {
    const newest = new NewestLines(10);
    for (let i = 0; i < 3000; i++) {
      newest.add({ stream: "stdout", time: `t${i}`, text: `${i % 10}abc` });
    }
    expect(newest.take().map((line) => line.time)).toEqual(["t2998", "t2999"]);
    expect(newest.dropped).toBe(2998);
  });

  it("keeps a single line longer than the budget rather than nothing", () => {
    const newest = new NewestLines(4);
    newest.add({ stream: "stdout", time: "a", text: "123456" });
    expect(newest.take()).toHaveLength(1);
  });
});
