import { describe, expect, it } from "vitest";
import { scopeAllows } from "./tokens.js";

describe("scopeAllows", () => {
  it("lets a higher scope do what a lower one may", () => {
    expect(scopeAllows(["admin"], "read")).toBe(true);
    expect(scopeAllows(["admin"], "deploy")).toBe(true);
    expect(scopeAllows(["deploy"], "read")).toBe(true);
  });

  it("keeps a lower scope from what needs a higher one", () => {
    expect(scopeAllows(["read"], "deploy")).toBe(false);
    expect(scopeAllows(["deploy"], "admin")).toBe(false);
    expect(scopeAllows([], "read")).toBe(false);
  });
});
