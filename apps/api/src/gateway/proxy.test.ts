import { describe, expect, it } from "vitest";
import { routeOf } from "./proxy.js";

describe("routeOf", () => {
  it("routes <service>.<domain> with the whole path and query", () => {
    expect(routeOf("site.apps.example:8000", "/a/b?c=1", "apps.example")).toEqual({
      service: "site",
      path: "/a/b?c=1",
    });
  });

  it("serves /_/services/ only on the gateway's own host names", () => {
    for (const host of ["localhost:8000", "127.0.0.1", "[::1]:8000", "apps.example"]) {
      expect(routeOf(host, "/_/services/site/x?y=1", "apps.example"), host).toEqual({
        service: "site",
        path: "/x?y=1",
      });
    }
    expect(routeOf("localhost", "/_/services/site", "apps.example")?.path).toBe("/");
    expect(routeOf("other.apps.example", "/_/services/site/x", "apps.example")).toBeUndefined();
    expect(routeOf("evil.example", "/_/services/site/x", "apps.example")).toBeUndefined();
    expect(routeOf("localhost", "/x", "apps.example")).toBeUndefined();
    expect(routeOf(undefined, "/x", "apps.example")).toBeUndefined();
  });
});
