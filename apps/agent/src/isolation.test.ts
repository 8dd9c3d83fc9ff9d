import { describe, expect, it } from "vitest";
import { nextFreeSubnet } from "./isolation.js";

describe("nextFreeSubnet", () => {
  it("hands out /28s of the pool in order, skipping used ones", () => {
    expect(nextFreeSubnet("10.240.0.0/16", [])).toBe("10.240.0.0/28");
    expect(nextFreeSubnet("10.240.0.0/16", ["10.240.0.0/28", "10.240.0.16/28"])).toBe(
      "10.240.0.32/28",
    );
    expect(nextFreeSubnet("10.240.0.0/24", [])).toBe("10.240.0.0/28");
  });

  it("crosses octets and says when the pool is full", () => {
    const used = Array.from({ length: 16 }, (_, index) => `10.240.0.${index * 16}/28`);
    expect(nextFreeSubnet("10.240.0.0/16", used)).toBe("10.240.1.0/28");
    expect(nextFreeSubnet("10.240.0.0/24", used)).toBeUndefined();
  });

  it("refuses a pool that is not a CIDR", () => {
    expect(() => nextFreeSubnet("10.240.0/16", [])).toThrow(/bad subnet pool/);
  });
});
