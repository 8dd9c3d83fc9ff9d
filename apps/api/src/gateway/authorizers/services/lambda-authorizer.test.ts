import { describe, expect, it } from "vitest";
import { readAnswer, verdictFor } from "./lambda-authorizer.js";

const arn = "arn:aws:execute-api:us-east-1:123456789012:abcdefghij/$default/GET/orders/7";
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

function policy(...statements: unknown[]) {
  return json({
    principalId: "u",
    policyDocument: { Version: "2012-10-17", Statement: statements },
    context: { u: 1 },
  });
}

describe("simple responses", () => {
  it("allows with the context, refuses with 403, and rejects anything else", () => {
    const allowed = readAnswer(json({ isAuthorized: true, context: { user: "a" } }), true);
    expect(allowed && verdictFor(allowed, arn)).toEqual({ allowed: true, context: { user: "a" } });
    const refused = readAnswer(json({ isAuthorized: false }), true);
    expect(refused && verdictFor(refused, arn)).toEqual({ allowed: false, status: 403 });
    expect(readAnswer(json({ isAuthorized: "yes" }), true)).toBeUndefined();
    expect(readAnswer(Buffer.from("not json"), true)).toBeUndefined();
    expect(readAnswer(json(["x"]), true)).toBeUndefined();
  });
});

describe("IAM policy responses", () => {
  it("allows when an Allow statement covers the route and no Deny does", () => {
    const allow = (resource: unknown, action: unknown = "execute-api:Invoke") =>
      readAnswer(policy({ Action: action, Effect: "Allow", Resource: resource }), false);
    const verdict = (answer: ReturnType<typeof readAnswer>) => answer && verdictFor(answer, arn);
    expect(verdict(allow(arn))).toEqual({ allowed: true, context: { u: 1 } });
    expect(
      verdict(allow(["arn:other", "arn:aws:execute-api:*:*:abcdefghij/*/GET/orders/*"])),
    ).toMatchObject({ allowed: true });
    expect(verdict(allow("*", "execute-api:*"))).toMatchObject({ allowed: true });
    expect(verdict(allow("arn:aws:execute-api:*:*:abcdefghij/*/POST/*"))).toEqual({
      allowed: false,
      status: 403,
    });
    expect(verdict(allow("*", "s3:GetObject"))).toEqual({ allowed: false, status: 403 });
    const denied = readAnswer(
      policy(
        { Action: "execute-api:Invoke", Effect: "Allow", Resource: "*" },
        { Action: "execute-api:Invoke", Effect: "Deny", Resource: "arn:*/GET/orders/?" },
      ),
      false,
    );
    expect(denied && verdictFor(denied, arn)).toEqual({ allowed: false, status: 403 });
  });

  it("rejects a malformed policy (a 500 for the caller)", () => {
    expect(readAnswer(json({ isAuthorized: true }), false)).toBeUndefined();
    expect(
      readAnswer(policy({ Action: "execute-api:Invoke", Effect: "Maybe", Resource: "*" }), false),
    ).toBeUndefined();
    expect(readAnswer(policy({ Effect: "Allow", Resource: "*" }), false)).toBeUndefined();
  });
});
