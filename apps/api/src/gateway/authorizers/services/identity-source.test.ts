import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { identityValues } from "./identity-source.js";

const req = (headers: Record<string, string | string[]>) =>
  ({ headers }) as unknown as IncomingMessage;

describe("identityValues", () => {
  it("reads headers (any case) and query parameters in order", () => {
    expect(
      identityValues(req({ "x-user": "alice" }), "tenant=t1&tenant=t2", [
        "$request.header.X-User",
        "$request.querystring.tenant",
      ]),
    ).toEqual(["alice", "t1,t2"]);
  });

  it("is undefined when a source is missing or empty (a 401 without asking)", () => {
    expect(identityValues(req({}), "", ["$request.header.Authorization"])).toBeUndefined();
    expect(identityValues(req({ a: "" }), "", ["$request.header.a"])).toBeUndefined();
    expect(
      identityValues(req({ a: "1" }), "b=", ["$request.header.a", "$request.querystring.b"]),
    ).toBeUndefined();
  });

  it("reads a WebSocket API's route.request.* sources the same way", () => {
    expect(
      identityValues(req({ auth: "tok" }), "room=1", [
        "route.request.header.Auth",
        "route.request.querystring.room",
      ]),
    ).toEqual(["tok", "1"]);
  });
});
