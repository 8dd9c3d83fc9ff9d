import type { ErrorBody } from "@skiff/shared";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestStack, type TestStack } from "../../test/harness.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack();
});
afterAll(() => stack.close());

it("answers ok without a token, with a request id", async () => {
  const response = await stack.request("/v1/health");
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ status: "ok" });
  expect(response.headers.get("x-request-id")).toMatch(/^req_/);
});

it("keeps a request id the caller sent", async () => {
  const response = await stack.request("/v1/health", { headers: { "x-request-id": "trace-42" } });
  expect(response.headers.get("x-request-id")).toBe("trace-42");
});

it("answers 503 in the error body when Redis is gone", async () => {
  const broken = await createTestStack();
  broken.services.redis.disconnect();
  const response = await broken.request("/v1/health");
  const body = (await response.json()) as ErrorBody;
  await broken.close();
  expect(response.status, JSON.stringify(body)).toBe(503);
  expect(body.error.code).toBe("ServiceUnavailable");
});
