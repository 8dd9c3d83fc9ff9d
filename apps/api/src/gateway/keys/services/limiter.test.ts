import { describe, expect, it } from "vitest";
import { type LimitCheck, leaseSize, limitCheckId } from "./limiter.js";

const bucket = (burstLimit: number) => ({ key: `b${burstLimit}`, rateLimit: 10, burstLimit });
const check = (buckets: number[], quota?: { limit: number; offset: number }): LimitCheck => ({
  buckets: buckets.map(bucket),
  quota: quota && { key: "q", period: "DAY", setAtSeconds: 0, ...quota },
  usageKey: "u",
});

describe("leaseSize", () => {
  it("is 1% of the smallest burst or quota, at most 100, and none under 2", () => {
    expect(leaseSize(check([1_000_000]))).toBe(100);
    expect(leaseSize(check([1_000_000, 5_000]))).toBe(50);
    expect(leaseSize(check([1_000_000], { limit: 1_000, offset: 0 }))).toBe(10);
    // The quota's offset shrinks what is left of it this period.
    expect(leaseSize(check([1_000_000], { limit: 1_000, offset: 800 }))).toBe(2);
    expect(leaseSize(check([199]))).toBe(0);
    expect(leaseSize(check([100]))).toBe(0);
    // Usage alone (no limit) is counted through the largest lease.
    expect(leaseSize(check([]))).toBe(100);
  });
});

describe("limitCheckId", () => {
  it("tells checks apart by any key or limit, and names equal checks alike", () => {
    const base = check([100, 200], { limit: 10, offset: 0 });
    expect(limitCheckId(check([100, 200], { limit: 10, offset: 0 }))).toBe(limitCheckId(base));
    const variants: LimitCheck[] = [
      check([100, 201], { limit: 10, offset: 0 }),
      check([100, 200], { limit: 11, offset: 0 }),
      check([100, 200], { limit: 10, offset: 1 }),
      check([100, 200]),
      { ...base, usageKey: undefined },
      { ...base, buckets: base.buckets.map((b) => ({ ...b, rateLimit: 11 })) },
    ];
    for (const variant of variants) expect(limitCheckId(variant)).not.toBe(limitCheckId(base));
  });
});
