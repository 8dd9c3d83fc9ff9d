import { describe, expect, it } from "vitest";
import { describeUses, maxUsesOf } from "./join-token-form.js";

describe("join token form", () => {
  it("asks for one use by default, a typed number, or none for autoscaling", () => {
    expect(maxUsesOf("one", "7")).toBe(1);
    expect(maxUsesOf("some", " 5 ")).toBe(5);
    expect(maxUsesOf("unlimited", "5")).toBeNull();
    // Left for the API to refuse with its own message, never sent as "unlimited".
    expect(maxUsesOf("some", "")).toBe(0);
    expect(maxUsesOf("some", "lots")).toBe(0);
  });

  it("says how many nodes a token admits", () => {
    expect(describeUses(1)).toBe("one node");
    expect(describeUses(3)).toBe("up to 3 nodes");
    expect(describeUses(null)).toBe("any number of nodes until it expires");
  });
});
