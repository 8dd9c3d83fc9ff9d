import type { ErrorBody } from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestStack, type TestStack } from "./test/harness.js";

type Body = RequestInit["body"];

// What users get wrong, and what they must get back: the documented error body and status,
// never a 500 or a stack trace, and nothing stored.
let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack({ maxBodyBytes: 16 * 1024 });
});
afterAll(() => stack.close());

async function post(path: string, body: Body, headers: Record<string, string> = {}) {
  const response = await stack.request(path, {
    method: "POST",
    headers: {
      authorization: `Bearer ${stack.adminToken}`,
      "content-type": "application/json",
      ...headers,
    },
    body,
  });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as ErrorBody };
}

async function tokenCount() {
  return (await stack.admin.listTokens({ limit: 500 })).items.length;
}

describe("bad input", () => {
  const cases: [string, Body, Record<string, string>, number, string, RegExp][] = [
    ["malformed JSON", '{"name": "ci", ', {}, 400, "BadRequest", /malformed json/i],
    [
      "a wrong type",
      JSON.stringify({ name: 42, scopes: ["read"] }),
      {},
      400,
      "ValidationError",
      /name/,
    ],
    [
      "an unknown scope",
      JSON.stringify({ name: "x", scopes: ["root"] }),
      {},
      400,
      "ValidationError",
      /scopes\.0/,
    ],
    [
      "an unknown field",
      JSON.stringify({ name: "x", scopes: ["read"], admin: true }),
      {},
      400,
      "ValidationError",
      /admin/,
    ],
    ["a missing field", JSON.stringify({ name: "x" }), {}, 400, "ValidationError", /scopes/],
    [
      "a bad date",
      JSON.stringify({ name: "x", scopes: ["read"], expiresAt: "soon" }),
      {},
      400,
      "ValidationError",
      /expiresAt/,
    ],
    ["an empty body", "", {}, 400, "BadRequest", /malformed json/i],
    [
      "a body that is not JSON",
      "name=x",
      { "content-type": "text/plain" },
      415,
      "UnsupportedMediaType",
      /application\/json/,
    ],
    [
      "an oversized body",
      JSON.stringify({ name: "x".repeat(20_000), scopes: ["read"] }),
      {},
      413,
      "PayloadTooLarge",
      /16384 bytes/,
    ],
  ];

  it.each(cases)(
    "answers %s with the error body",
    async (_label, body, headers, status, code, message) => {
      const before = await tokenCount();
      const result = await post("/v1/tokens", body, headers);
      expect(result.status, result.text).toBe(status);
      expect(result.body.error.code, result.text).toBe(code);
      expect(result.body.error.message, result.text).toMatch(message);
      expect(result.body.error.requestId).toMatch(/^req_/);
      expect(result.text).not.toMatch(/at .*\.(ts|js):\d+/);
      expect(await tokenCount()).toBe(before);
    },
  );

  it("answers an unknown route with 404 in the error body", async () => {
    const response = await stack.request("/v1/nothing-here");
    expect(response.status).toBe(404);
    expect(((await response.json()) as ErrorBody).error.code).toBe("NotFound");
  });

  it("answers a bad query with 400 naming the parameter", async () => {
    const response = await stack.request("/v1/tokens?limit=0", {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    const body = (await response.json()) as ErrorBody;
    expect(response.status).toBe(400);
    expect(body.error.message).toMatch(/limit/);
  });

  it("hides the cause of an internal failure from the client", async () => {
    const broken = await createTestStack();
    await broken.database.close();
    const response = await broken.request("/v1/whoami", {
      headers: { authorization: `Bearer ${broken.adminToken}` },
    });
    const text = await response.text();
    broken.services.redis.disconnect();
    expect(response.status).toBe(500);
    expect(JSON.parse(text).error).toMatchObject({ code: "Internal" });
    expect(text).not.toMatch(/postgres|CONNECTION|\.js/i);
  });
});
