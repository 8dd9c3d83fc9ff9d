import { type TokenScope, tokenScopes } from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createToken } from "./auth/services/tokens.js";
import { createTestStack, type TestStack } from "./test/harness.js";
import { listOperations, type Operation } from "./test/openapi-operations.js";

// The one shared suite that checks auth on every route the OpenAPI document lists: a route added
// later is covered without touching this file.
const publicRoutes = new Set([
  "GET /v1/health",
  "POST /v1/agent/register",
  // Docker token auth: HTTP Basic with a Skiff token or node credential, or anonymous pulls.
  "GET /v1/registry/token",
]);

let stack: TestStack;
let operations: Operation[];
const tokens: Partial<Record<TokenScope | "expired", string>> = {};

beforeAll(async () => {
  stack = await createTestStack();
  operations = await listOperations(stack.app);
  for (const scope of tokenScopes) {
    tokens[scope] = (await createToken(stack.database.db, { name: scope, scopes: [scope] })).token;
  }
  tokens.expired = (
    await createToken(stack.database.db, {
      name: "expired",
      scopes: ["admin"],
      expiresAt: new Date(Date.now() - 60_000).toISOString(),
    })
  ).token;
});
afterAll(() => stack.close());

async function call(operation: Operation, authorization?: string) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (authorization) headers.authorization = authorization;
  const response = await stack.request(operation.path, {
    method: operation.method,
    headers,
    body: operation.hasBody ? "{}" : undefined,
  });
  const text = await response.text();
  // Errors are always JSON; a success may be text (the Prometheus metrics).
  const json = response.headers.get("content-type")?.includes("application/json");
  return { status: response.status, text, body: text && json ? JSON.parse(text) : undefined };
}

describe("auth on every route", () => {
  it("lists routes to check", () => {
    expect(operations.length).toBeGreaterThanOrEqual(4);
  });

  it("leaves open only the public routes, and documents the guard of every other", () => {
    for (const operation of operations) {
      const key = `${operation.method} ${operation.template}`;
      if (publicRoutes.has(key)) continue;
      expect(operation.secured, `${key} must declare bearer security`).toBe(true);
      if (!operation.nodeAuth)
        expect(operation.scope, `${key} must declare x-skiff-scope`).toBeDefined();
    }
  });

  it("answers 401 in the error body without a valid token", async () => {
    const bad = [
      undefined,
      "Bearer",
      "Basic YWRtaW46YWRtaW4=",
      "Bearer skf_nope",
      `Bearer ${tokens.expired}`,
    ];
    for (const operation of operations.filter((op) => op.secured)) {
      for (const authorization of bad) {
        const { status, body, text } = await call(operation, authorization);
        const label = `${operation.method} ${operation.path} with ${authorization ?? "no header"}: ${text}`;
        expect(status, label).toBe(401);
        expect(body.error.code, label).toBe("Unauthorized");
        expect(body.error.requestId, label).toMatch(/^req_/);
      }
    }
  });

  it("takes no API token, not even an admin's, as a node credential", async () => {
    for (const operation of operations.filter((op) => op.nodeAuth)) {
      for (const scope of tokenScopes) {
        const { status, text } = await call(operation, `Bearer ${tokens[scope]}`);
        expect(status, `${operation.method} ${operation.path} as ${scope}: ${text}`).toBe(401);
      }
    }
  });

  it("answers 403 to a token whose scope is too low, and lets the right scope through", async () => {
    for (const operation of operations.filter((op) => op.secured && !op.nodeAuth)) {
      const needed = tokenScopes.indexOf(operation.scope as TokenScope);
      for (const [rank, scope] of tokenScopes.entries()) {
        const { status, text } = await call(operation, `Bearer ${tokens[scope]}`);
        const label = `${operation.method} ${operation.path} as ${scope}: ${text}`;
        if (rank < needed) expect(status, label).toBe(403);
        else expect([401, 403], label).not.toContain(status);
      }
    }
  });

  it("notes when a token was last used", async () => {
    const { token, id } = await createToken(stack.database.db, { name: "used", scopes: ["read"] });
    const listed = async () => {
      const response = await stack.request("/v1/tokens", {
        headers: { authorization: `Bearer ${tokens.admin}` },
      });
      const body = (await response.json()) as {
        items: { id: string; lastUsedAt: string | null }[];
      };
      return body.items.find((one) => one.id === id)?.lastUsedAt;
    };
    expect(await listed()).toBeNull();
    const used = await stack.request("/v1/pools", {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(used.status).toBe(200);
    await vi.waitFor(async () => expect(await listed()).not.toBeNull());
  });
});
