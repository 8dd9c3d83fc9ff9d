import { describe, expect, it } from "vitest";
import { actionFor, matchPath } from "./paths.js";

describe("matchPath", () => {
  it("splits names with slashes from the endpoint", () => {
    expect(matchPath("/v2/")).toEqual({ kind: "base" });
    expect(matchPath("/v2/_catalog")).toEqual({ kind: "catalog" });
    expect(matchPath("/v2/team/app/manifests/v1")).toEqual({
      kind: "manifest",
      name: "team/app",
      reference: "v1",
    });
    expect(matchPath("/v2/a/b/c/blobs/uploads/")).toEqual({ kind: "uploads", name: "a/b/c" });
    expect(matchPath("/v2/a/blobs/uploads/abc")).toEqual({ kind: "upload", name: "a", id: "abc" });
    expect(matchPath("/v2/a/blobs/sha256:00")).toEqual({
      kind: "blob",
      name: "a",
      digest: "sha256:00",
    });
    expect(matchPath("/v2/a/tags/list")).toEqual({ kind: "tags", name: "a" });
    expect(matchPath("/v2/a/referrers/sha256:00")).toMatchObject({ kind: "referrers" });
    expect(matchPath("/v2/Bad/tags/list")).toEqual({ kind: "invalidName", name: "Bad" });
    expect(matchPath("/v3/")).toBeUndefined();
  });

  it("names the action each request needs", () => {
    const blob = { kind: "blob", name: "a", digest: "x" } as const;
    expect(actionFor("GET", blob)).toBe("pull");
    expect(actionFor("HEAD", blob)).toBe("pull");
    expect(actionFor("DELETE", blob)).toBe("delete");
    expect(actionFor("POST", { kind: "uploads", name: "a" })).toBe("push");
    expect(actionFor("DELETE", { kind: "upload", name: "a", id: "x" })).toBe("push");
    expect(actionFor("GET", { kind: "base" })).toBeUndefined();
  });
});
