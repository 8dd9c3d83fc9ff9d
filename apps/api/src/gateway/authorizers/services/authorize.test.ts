import { describe, expect, it } from "vitest";
import { AuthorizerState } from "./authorize.js";
import type { AuthorizerAnswer } from "./lambda-authorizer.js";

const yes: AuthorizerAnswer = { kind: "simple", isAuthorized: true, context: {} };

describe("AuthorizerState.decide", () => {
  it("asks once per key within the TTL, again after it, and always with a TTL of 0", async () => {
    let now = 1_000;
    const state = new AuthorizerState(() => now);
    let asked = 0;
    const ask = async () => {
      asked++;
      return yes;
    };
    await state.decide("a", 300_000, ask);
    await state.decide("a", 300_000, ask);
    expect(asked).toBe(1);
    await state.decide("b", 300_000, ask);
    expect(asked).toBe(2);
    now += 300_001;
    await state.decide("a", 300_000, ask);
    expect(asked).toBe(3);
    await state.decide("c", 0, ask);
    await state.decide("c", 0, ask);
    expect(asked).toBe(5);
  });

  it("shares one question among concurrent requests and does not keep a failure", async () => {
    const state = new AuthorizerState();
    let asked = 0;
    const failing = async () => {
      asked++;
      await new Promise((done) => setTimeout(done, 10));
      return undefined;
    };
    const [one, two] = await Promise.all([
      state.decide("k", 60_000, failing),
      state.decide("k", 60_000, failing),
    ]);
    expect([one, two, asked]).toEqual([undefined, undefined, 1]);
    await new Promise((done) => setTimeout(done, 0));
    await state.decide("k", 60_000, failing);
    expect(asked).toBe(2);
  });
});
