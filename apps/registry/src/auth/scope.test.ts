import { describe, expect, it } from "vitest";
import { allows, parseScopes } from "./scope.js";

describe("parseScopes", () => {
  it("reads Docker's scope parameters, several per parameter too", () => {
    expect(
      parseScopes(["repository:team/app:pull,push", "repository:a:pull registry:catalog:*"]),
    ).toEqual([
      { type: "repository", name: "team/app", actions: ["pull", "push"] },
      { type: "repository", name: "a", actions: ["pull"] },
      { type: "registry", name: "catalog", actions: ["*"] },
    ]);
    expect(parseScopes(["nonsense", ""])).toEqual([]);
  });
});

describe("allows", () => {
  it("grants only the actions listed for that repository", () => {
    const access = [{ type: "repository", name: "team/app", actions: ["pull"] }];
    expect(allows(access, "team/app", "pull")).toBe(true);
    expect(allows(access, "team/app", "push")).toBe(false);
    expect(allows(access, "team/other", "pull")).toBe(false);
  });
});
