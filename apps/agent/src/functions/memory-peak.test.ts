import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MemoryPeak, usedBytesOf } from "./memory-peak.js";

describe("MemoryPeak from a cgroup file", () => {
  it("reads the file anew at each invocation, and nothing once closed", async () => {
    const root = mkdtempSync(join(tmpdir(), "skiff-cgroup-"));
    try {
      const scope = join(root, "system.slice", "docker-abc.scope");
      mkdirSync(scope, { recursive: true });
      writeFileSync(join(scope, "memory.peak"), "1048576\n");
      const peak = new MemoryPeak("abc", undefined, root);
      await peak.watch();
      expect(peak.bytes()).toBe(1_048_576);
      writeFileSync(join(scope, "memory.peak"), "73400320\n");
      expect(peak.bytes()).toBe(73_400_320);
      peak.close();
      expect(peak.bytes()).toBeUndefined();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("knows nothing when no cgroup file exists and there is no stats stream", async () => {
    const peak = new MemoryPeak("none", undefined, "/nonexistent-cgroup-root");
    await peak.watch();
    expect(peak.bytes()).toBeUndefined();
  });
});

describe("usedBytesOf (the engine's stats documents)", () => {
  it("counts usage less inactive page cache, as docker stats does (cgroup v2)", () => {
    expect(
      usedBytesOf({ memory_stats: { usage: 50_000_000, stats: { inactive_file: 10_000_000 } } }),
    ).toBe(40_000_000);
  });

  it("takes cgroup v1's own peak when it is higher", () => {
    expect(
      usedBytesOf({
        memory_stats: {
          usage: 30_000_000,
          max_usage: 60_000_000,
          stats: { total_inactive_file: 1_000_000 },
        },
      }),
    ).toBe(60_000_000);
  });

  it("knows nothing from a document without usage (a stopped container's)", () => {
    expect(usedBytesOf({ memory_stats: {} })).toBeUndefined();
    expect(usedBytesOf({})).toBeUndefined();
  });
});
