import { describe, expect, it } from "vitest";
import { formatAgo, formatBytes, formatCpu, formatMemory, percentOf } from "./format.js";

describe("format", () => {
  it("writes sizes and resources the way the API's units read", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(2_202_009)).toBe("2.1 MiB");
    expect(formatCpu(512)).toBe("0.5 vCPU");
    expect(formatCpu(2048)).toBe("2 vCPU");
    expect(formatMemory(512)).toBe("512 MiB");
    expect(formatMemory(3072)).toBe("3 GiB");
  });

  it("says how long ago, and guards bars against an empty whole", () => {
    const now = Date.parse("2026-01-01T00:10:00Z");
    expect(formatAgo("2026-01-01T00:09:30Z", now)).toBe("30 s ago");
    expect(formatAgo("2026-01-01T00:00:00Z", now)).toBe("10 min ago");
    expect(formatAgo(null, now)).toBe("never");
    expect(percentOf(512, 2048)).toBe(25);
    expect(percentOf(1, 0)).toBe(0);
    expect(percentOf(5, 4)).toBe(100);
  });
});
