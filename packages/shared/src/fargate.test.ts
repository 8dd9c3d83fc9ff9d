import { describe, expect, it } from "vitest";
import { fargateSizeError, isValidFargateSize, smallestFargateSizeCovering } from "./fargate.js";

describe("fargate sizes", () => {
  it("accepts AWS's combinations and refuses others", () => {
    expect(isValidFargateSize({ cpu: 256, memory: 512 })).toBe(true);
    expect(isValidFargateSize({ cpu: 256, memory: 3072 })).toBe(false);
    expect(isValidFargateSize({ cpu: 4096, memory: 30 * 1024 })).toBe(true);
    expect(isValidFargateSize({ cpu: 8192, memory: 20 * 1024 })).toBe(true);
    expect(isValidFargateSize({ cpu: 8192, memory: 18 * 1024 })).toBe(false);
    expect(isValidFargateSize({ cpu: 16384, memory: 120 * 1024 })).toBe(true);
    expect(isValidFargateSize({ cpu: 300, memory: 512 })).toBe(false);
  });

  it("rounds needs up to the smallest size covering them", () => {
    expect(smallestFargateSizeCovering({ cpu: 100, memory: 64 })).toEqual({
      cpu: 256,
      memory: 512,
    });
    expect(smallestFargateSizeCovering({ cpu: 300, memory: 700 })).toEqual({
      cpu: 512,
      memory: 1024,
    });
    // More memory than 0.25 vCPU may have: the cpu goes up with it.
    expect(smallestFargateSizeCovering({ cpu: 256, memory: 3000 })).toEqual({
      cpu: 512,
      memory: 3072,
    });
    expect(smallestFargateSizeCovering({ cpu: 16384, memory: 121 * 1024 })).toBeUndefined();
  });

  it("names the nearest valid sizes in its error", () => {
    const message = fargateSizeError({ cpu: 256, memory: 4096 });
    expect(message).toContain("cpu 512 memory 4096");
    expect(message).toContain("cpu 256 with memory 512-2048 MiB");
  });
});
