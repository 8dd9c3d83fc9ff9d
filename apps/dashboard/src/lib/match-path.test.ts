import { describe, expect, it } from "vitest";
import { matchPath } from "./match-path.js";

describe("matchPath", () => {
  it("answers decoded parameters of a matching path, null otherwise", () => {
    expect(matchPath("/services/:name", "/services/web")).toEqual({ name: "web" });
    expect(matchPath("/services/:name", "/services/web/")).toEqual({ name: "web" });
    expect(matchPath("/registry/:name", "/registry/team%2Fweb")).toEqual({ name: "team/web" });
    expect(matchPath("/services/new", "/services/web")).toBeNull();
    expect(matchPath("/services/:name", "/services")).toBeNull();
    expect(matchPath("/", "/")).toEqual({});
    expect(matchPath("/tasks/:id", "/tasks/%E0%A4%A")).toBeNull();
  });
});
