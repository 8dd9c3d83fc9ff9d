import { describe, expect, it } from "vitest";
import { parseFunctionError, parseReport, prettyJson } from "./function-report.js";

const tail = [
  "START RequestId: r1 Version: $LATEST",
  "2026-01-01T00:00:00.000Z\tr1\tINFO\thello",
  "END RequestId: r1",
  "REPORT RequestId: r1\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 41 MB\tInit Duration: 80.5 ms",
  "",
].join("\n");

describe("parseReport", () => {
  it("reads the REPORT line's figures", () => {
    expect(parseReport(tail, "r1")).toEqual({
      durationMs: 12.34,
      billedDurationMs: 13,
      memorySizeMb: 128,
      maxMemoryUsedMb: 41,
      initDurationMs: 80.5,
    });
  });

  it("takes the line of the request asked for, and none of another", () => {
    expect(parseReport(tail, "other")).toBeNull();
    const warm = tail.replace("\tInit Duration: 80.5 ms", "");
    expect(parseReport(warm)?.initDurationMs).toBeNull();
    expect(parseReport("no report here")).toBeNull();
  });
});

describe("parseFunctionError", () => {
  it("reads Lambda's error document and nothing else", () => {
    expect(
      parseFunctionError('{"errorType":"Error","errorMessage":"boom","stackTrace":["at x"]}'),
    ).toEqual({ errorType: "Error", errorMessage: "boom", stackTrace: ["at x"] });
    expect(parseFunctionError('{"ok":true}')).toBeNull();
    expect(parseFunctionError("not json")).toBeNull();
    expect(prettyJson('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(prettyJson("plain")).toBe("plain");
  });
});
