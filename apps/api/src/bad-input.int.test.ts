import type { ErrorBody } from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestStack, type TestStack } from "./test/harness.js";
import { listOperations, type Operation, sampleBody } from "./test/openapi-operations.js";

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

  it("refuses a NUL character in a body field, naming the field", async () => {
    const before = await tokenCount();
    const result = await post("/v1/tokens", JSON.stringify({ name: "a\u0000b", scopes: ["read"] }));
    expect(result.status, result.text).toBe(400);
    expect(result.body.error.code, result.text).toBe("ValidationError");
    expect(result.body.error.message, result.text).toMatch(/name: contains a NUL/);
    expect(await tokenCount()).toBe(before);
  });

  it("refuses a NUL character in a path parameter, naming it", async () => {
    const response = await stack.request("/v1/nodes/%00", {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    const text = await response.text();
    expect(response.status, text).toBe(400);
    expect(JSON.parse(text).error.message, text).toMatch(/param: id: contains a NUL/);
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

// PostgreSQL text cannot hold a NUL: every operation of the OpenAPI document must refuse one in
// any path parameter, query parameter or JSON body string with a 400, never reach the database.
describe("a NUL character anywhere, on every operation", () => {
  let operations: Operation[] = [];
  beforeAll(async () => {
    operations = await listOperations(stack.app);
  });

  type Probe = { label: string; path: string; body?: string };
  function probes(operation: Operation): Probe[] {
    const out: Probe[] = [];
    const fill = (nulParam?: string) =>
      operation.template.replace(/\{([^}]+)\}/g, (_, name: string) =>
        name === nulParam ? "a%00b" : "doesnotexist",
      );
    for (const param of operation.pathParams)
      out.push({ label: `path ${param}`, path: fill(param) });
    for (const param of operation.queryParams)
      out.push({ label: `query ${param}`, path: `${fill()}?${param}=a%00b` });
    const body = JSON.stringify(sampleBody(operation.bodySchema, "a\u0000b"));
    // A body of numbers and booleans only has no string to carry a NUL. Lambda's Invoke takes
    // the caller's event as is (a JSON NUL escape is a valid event) and never stores it as text.
    const opaque = operation.template.startsWith("/2015-03-31/");
    if (operation.hasBody && body.includes("\\u0000") && !opaque)
      out.push({ label: "body", path: fill(), body });
    return out;
  }

  it("answers 400 naming the field, never 5xx", async () => {
    const failures: string[] = [];
    let sent = 0;
    for (const operation of operations) {
      for (const probe of probes(operation)) {
        sent++;
        const response = await stack.request(probe.path, {
          method: operation.method,
          headers: {
            authorization: `Bearer ${stack.adminToken}`,
            ...(probe.body === undefined ? {} : { "content-type": "application/json" }),
          },
          body: probe.body,
        });
        const text = await response.text();
        const where = `${operation.method} ${operation.template} (${probe.label})`;
        if (response.status !== 400 || !/contains a NUL character/.test(text))
          failures.push(`${where}: ${response.status} ${text.slice(0, 200)}`);
      }
    }
    expect(sent).toBeGreaterThan(30);
    expect(failures, failures.join("\n")).toEqual([]);
  });
});
