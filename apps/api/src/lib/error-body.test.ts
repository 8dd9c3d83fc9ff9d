import { errorStatus } from "@skiff/shared";
import { describe, expect, it } from "vitest";
import { codeForStatus } from "./error-body.js";

describe("codeForStatus", () => {
  it("gives back the code of every status the API documents", () => {
    for (const [code, status] of Object.entries(errorStatus)) {
      if (code === "ValidationError") continue;
      expect(codeForStatus(status)).toBe(code);
    }
  });

  it("never calls a client error internal, nor a server error the client's", () => {
    expect(codeForStatus(418)).toBe("BadRequest");
    expect(codeForStatus(502)).toBe("Internal");
  });
});
