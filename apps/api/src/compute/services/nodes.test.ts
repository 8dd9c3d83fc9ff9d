import { describe, expect, it } from "vitest";
import { heartbeatIntervalFor } from "./nodes.js";

describe("heartbeatIntervalFor", () => {
  it("fits three heartbeats in the node-down window, one every 1 to 5 s", () => {
    expect(heartbeatIntervalFor(15_000)).toBe(5);
    expect(heartbeatIntervalFor(60_000)).toBe(5);
    expect(heartbeatIntervalFor(11_000)).toBe(3);
    expect(heartbeatIntervalFor(5_000)).toBe(1);
    expect(heartbeatIntervalFor(1_000)).toBe(1);
  });
});
