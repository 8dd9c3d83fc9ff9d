import { describe, expect, it } from "vitest";
import { copyRanges, maxCopyPartSize } from "./s3-copy.js";

const MiB = 1 << 20;

describe("copyRanges", () => {
  it("copies each chunk as one part while it is within S3's 5 GiB part limit", () => {
    expect(
      copyRanges([
        { key: "a", size: 6 * MiB },
        { key: "b", size: 100 },
      ]),
    ).toEqual([
      { key: "a", start: 0, end: 6 * MiB - 1 },
      { key: "b", start: 0, end: 99 },
    ]);
  });

  it("cuts a chunk over 5 GiB into equal parts that cover it exactly", () => {
    const size = 2 * maxCopyPartSize + 7;
    const ranges = copyRanges([{ key: "big", size }]);
    expect(ranges).toHaveLength(3);
    expect(ranges[0]?.start).toBe(0);
    expect(ranges.at(-1)?.end).toBe(size - 1);
    for (const [index, range] of ranges.entries()) {
      expect(range.end - range.start + 1).toBeLessThanOrEqual(maxCopyPartSize);
      if (index > 0) expect(range.start).toBe((ranges[index - 1]?.end ?? 0) + 1);
    }
  });

  it("refuses an upload of more than S3's 10,000 parts", () => {
    const chunks = Array.from({ length: 10_001 }, (_, index) => ({ key: `c${index}`, size: 1 }));
    expect(() => copyRanges(chunks)).toThrow(/10000/);
  });
});
