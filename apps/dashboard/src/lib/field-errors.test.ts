import { describe, expect, it } from "vitest";
import { parseFieldErrors } from "./field-errors.js";

describe("parseFieldErrors", () => {
  it("maps each problem of the API's message to its field path", () => {
    const errors = parseFieldErrors(
      "invalid json: containers.0.image: Too small: expected string to have >=1 characters; cpu: bad cpu; containers.0.image: second",
    );
    expect(errors.get("containers.0.image")).toBe(
      "Too small: expected string to have >=1 characters; second",
    );
    expect(errors.get("cpu")).toBe("bad cpu");
  });

  it("keeps problems without a path under the empty key", () => {
    const errors = parseFieldErrors("invalid json: nothing to change");
    expect([...errors]).toEqual([["", "nothing to change"]]);
  });
});
