import { describe, expect, it } from "vitest";
import { nextPollDelay } from "./backoff.js";

describe("nextPollDelay", () => {
  it("keeps the interval while calls succeed and doubles per failure up to the cap", () => {
    expect(nextPollDelay(2000, 0)).toBe(2000);
    expect(nextPollDelay(2000, 1)).toBe(4000);
    expect(nextPollDelay(2000, 2)).toBe(8000);
    expect(nextPollDelay(2000, 4)).toBe(30_000);
    expect(nextPollDelay(2000, 1000)).toBe(30_000);
  });
});
