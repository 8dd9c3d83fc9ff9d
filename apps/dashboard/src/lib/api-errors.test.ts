import { SkiffApiError } from "@skiff/shared";
import { describe, expect, it } from "vitest";
import { errorText, isAuthError, isMissingRoute } from "./api-errors.js";

describe("api errors", () => {
  it("tells a route this server lacks from a thing that does not exist", () => {
    const noRoute = new SkiffApiError(404, "NotFound", "no route GET /v1/usage", "req_1");
    const noService = new SkiffApiError(404, "NotFound", "service web not found", "req_2");
    expect(isMissingRoute(noRoute)).toBe(true);
    expect(isMissingRoute(noService)).toBe(false);
    expect(isMissingRoute(new TypeError("fetch failed"))).toBe(false);
  });

  it("ends the session on 401 and 403 only, and shows the API's own message", () => {
    expect(isAuthError(new SkiffApiError(401, "Unauthorized", "bad token", "r"))).toBe(true);
    expect(isAuthError(new SkiffApiError(403, "Forbidden", "needs admin", "r"))).toBe(true);
    expect(isAuthError(new SkiffApiError(409, "Conflict", "busy", "r"))).toBe(false);
    expect(errorText(new SkiffApiError(409, "Conflict", "node has running tasks", "r"))).toBe(
      "node has running tasks (Conflict, 409)",
    );
    expect(errorText(new TypeError("Failed to fetch"))).toBe(
      "the API could not be reached: Failed to fetch",
    );
  });
});
