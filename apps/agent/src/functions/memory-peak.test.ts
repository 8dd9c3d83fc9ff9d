import { describe, expect, it } from "vitest";
import { usedBytesOf } from "./memory-peak.js";

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
