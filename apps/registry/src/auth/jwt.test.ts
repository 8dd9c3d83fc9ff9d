import { describe, expect, it } from "vitest";
import { signToken, tokenIssuer, tokenService, verifyToken } from "./jwt.js";

const claims = {
  iss: tokenIssuer,
  aud: tokenService,
  sub: "tok_1",
  iat: 1000,
  exp: 2000,
  access: [{ type: "repository", name: "team/app", actions: ["pull"] }],
};

describe("registry tokens", () => {
  it("verifies what it signed, within its lifetime", () => {
    const token = signToken(claims, "secret");
    expect(verifyToken(token, "secret", 1500)).toEqual(claims);
  });

  it("refuses another secret, a changed payload, an expired token, another audience", () => {
    const token = signToken(claims, "secret");
    expect(verifyToken(token, "other", 1500)).toBeUndefined();
    const [head, , signature] = token.split(".");
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: "admin" })).toString("base64url");
    expect(verifyToken(`${head}.${forged}.${signature}`, "secret", 1500)).toBeUndefined();
    expect(verifyToken(token, "secret", 2100)).toBeUndefined();
    const elsewhere = signToken({ ...claims, aud: "other-registry" }, "secret");
    expect(verifyToken(elsewhere, "secret", 1500)).toBeUndefined();
    expect(verifyToken("not.a.token", "secret", 1500)).toBeUndefined();
  });
});
