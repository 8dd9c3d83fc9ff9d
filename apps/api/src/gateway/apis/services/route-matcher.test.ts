import { describe, expect, it } from "vitest";
import { parseRouteKey } from "./route-key.js";
import { RouteMatcher } from "./route-matcher.js";

const matcher = (...keys: string[]) => new RouteMatcher(keys, (key) => key);
const routeOf = (m: RouteMatcher<string>, method: string, path: string) =>
  m.match(method, path)?.route;

describe("route keys", () => {
  it("parses $default, literals, parameters and a last greedy parameter", () => {
    expect(parseRouteKey("$default").isDefault).toBe(true);
    expect(parseRouteKey("GET /items/{id}/{rest+}").segments).toEqual([
      { kind: "literal", value: "items" },
      { kind: "param", name: "id" },
      { kind: "greedy", name: "rest" },
    ]);
    expect(parseRouteKey("ANY /").segments).toEqual([]);
  });

  it.each([
    ["GET", /METHOD \/path/],
    ["FETCH /x", /method must be one of/],
    ["GET items", /must start with \//],
    ["GET /a//b", /empty segments/],
    ["GET /a/", /empty segments/],
    ["GET /{rest+}/x", /must be the last segment/],
    ["GET /{a}/{a}", /appears twice/],
    ["GET /{a-b}", /must be a name/],
    ["GET /a b", /characters/],
  ])("refuses %s", (key, message) => {
    expect(() => parseRouteKey(key)).toThrow(message);
  });
});

describe("route matching as HTTP APIs", () => {
  const m = matcher(
    "$default",
    "ANY /{proxy+}",
    "GET /items",
    "ANY /items",
    "GET /items/{id}",
    "GET /items/special",
    "ANY /items/{id}",
    "GET /items/{id}/parts/{part}",
    "GET /items/{id}/{rest+}",
    "GET /",
  );

  it("prefers an exact path, then parameters, then greedy, then $default; a method over ANY", () => {
    expect(routeOf(m, "GET", "/items")).toBe("GET /items");
    expect(routeOf(m, "POST", "/items")).toBe("ANY /items");
    expect(routeOf(m, "GET", "/items/special")).toBe("GET /items/special");
    expect(routeOf(m, "GET", "/items/7")).toBe("GET /items/{id}");
    expect(routeOf(m, "DELETE", "/items/7")).toBe("ANY /items/{id}");
    expect(routeOf(m, "GET", "/items/7/parts/2")).toBe("GET /items/{id}/parts/{part}");
    expect(routeOf(m, "GET", "/items/7/a/b")).toBe("GET /items/{id}/{rest+}");
    expect(routeOf(m, "POST", "/items/7/a/b")).toBe("ANY /{proxy+}");
    expect(routeOf(m, "GET", "/")).toBe("GET /");
    expect(routeOf(m, "POST", "/")).toBe("$default");
  });

  it("answers path parameters, decoded, and the greedy rest", () => {
    expect(m.match("GET", "/items/a%20b")?.pathParameters).toEqual({ id: "a b" });
    expect(m.match("GET", "/items/7/x/y/z")?.pathParameters).toEqual({ id: "7", rest: "x/y/z" });
    expect(m.match("GET", "/items")?.pathParameters).toBeUndefined();
  });

  it("matches nothing without $default when no route fits", () => {
    const strict = matcher("GET /items/{id}");
    expect(strict.match("GET", "/items")).toBeUndefined();
    expect(strict.match("GET", "/items/1/2")).toBeUndefined();
    expect(strict.match("POST", "/items/1")).toBeUndefined();
  });
});
