import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestStack, type TestStack } from "./test/harness.js";
import { listOperations } from "./test/openapi-operations.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack();
});
afterAll(() => stack.close());

it("serves a valid OpenAPI 3 document", async () => {
  const response = await stack.request("/v1/openapi.json");
  expect(response.status).toBe(200);
  const doc = (await response.json()) as { openapi: string };
  expect(doc.openapi).toMatch(/^3\./);
  const result = await new Validator().validate(doc);
  expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
  expect(result.valid).toBe(true);
});

it("lists every route the app serves", async () => {
  const documented = new Set(
    (await listOperations(stack.app)).map(
      (op) => `${op.method} ${op.template.replace(/\{([^}]+)\}/g, ":$1")}`,
    ),
  );
  const served = stack.app.routes
    .filter((route) => route.method !== "ALL" && route.path !== "/v1/openapi.json")
    .map((route) => `${route.method} ${route.path}`);
  expect(served.length).toBeGreaterThan(0);
  for (const route of served)
    expect(documented, `${route} is missing from the OpenAPI document`).toContain(route);
});
