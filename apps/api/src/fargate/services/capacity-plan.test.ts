import { describe, expect, it } from "vitest";
import { nodesFor } from "./capacity-plan.js";

describe("nodesFor", () => {
  const node = { cpu: 1024, memory: 2048 };

  it("packs tasks onto as few nodes as fit them", () => {
    expect(nodesFor([], node)).toBe(0);
    expect(nodesFor([{ cpu: 256, memory: 512 }], node)).toBe(1);
    expect(
      nodesFor(
        Array.from({ length: 4 }, () => ({ cpu: 256, memory: 512 })),
        node,
      ),
    ).toBe(1);
    expect(
      nodesFor(
        Array.from({ length: 5 }, () => ({ cpu: 256, memory: 512 })),
        node,
      ),
    ).toBe(2);
    // Memory runs out before cpu.
    expect(
      nodesFor(
        Array.from({ length: 3 }, () => ({ cpu: 256, memory: 1024 })),
        node,
      ),
    ).toBe(2);
  });

  it("asks no node for a task larger than any node of this size", () => {
    expect(nodesFor([{ cpu: 4096, memory: 8192 }], node)).toBe(0);
  });
});
