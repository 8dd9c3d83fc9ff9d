import { queryRows } from "@skiff/registry";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createToken } from "../../../auth/services/tokens.js";
import { createTestStack, type TestStack } from "../../../test/harness.js";

let stack: TestStack;
let readToken: string;
beforeAll(async () => {
  stack = await createTestStack();
  readToken = (await createToken(stack.database.db, { name: "reader", scopes: ["read"] })).token;
});
afterAll(() => stack.close());

async function call(method: string, path: string, body?: unknown, token = stack.adminToken) {
  const response = await stack.request(path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, text, body: text ? JSON.parse(text) : undefined };
}

describe("API keys", () => {
  it("answers a generated value once, stores only its hash, and never shows it again", async () => {
    const created = await call("POST", "/v1/api-keys", { name: "partner a" });
    expect(created.status, created.text).toBe(201);
    const value: string = created.body.value;
    expect(value).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(created.body).toMatchObject({ name: "partner a", enabled: true });
    expect(created.body.id).toMatch(/^key_/);
    expect(value.startsWith(created.body.prefix)).toBe(true);

    const answers = [
      await call("GET", `/v1/api-keys/${created.body.id}`),
      await call("GET", "/v1/api-keys"),
      await call("PATCH", `/v1/api-keys/${created.body.id}`, { name: "partner a2" }),
    ];
    for (const answer of answers) {
      expect(answer.status, answer.text).toBe(200);
      expect(answer.text).toContain(created.body.id);
      expect(answer.text).not.toContain(value);
    }

    // The database holds no value, only its SHA-256.
    const rows = await queryRows<Record<string, unknown>>(
      stack.database.db,
      sql`select * from api_keys where id = ${created.body.id}`,
    );
    expect(JSON.stringify(rows)).not.toContain(value);
    const { createHash } = await import("node:crypto");
    expect(rows[0]?.key_hash).toBe(createHash("sha256").update(value).digest("hex"));
  });

  it("takes a value of 20-128 characters, refuses a taken one with 409, and bad input with 400", async () => {
    const value = "a-custom-key-value-of-some-length-1234";
    const created = await call("POST", "/v1/api-keys", { name: "custom", value, enabled: false });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ value, enabled: false });

    const again = await call("POST", "/v1/api-keys", { name: "copy", value });
    expect(again.status, again.text).toBe(409);
    expect(again.body.error.code).toBe("Conflict");

    const before = await call("GET", "/v1/api-keys?limit=500");
    for (const bad of [
      { name: "short", value: "x".repeat(19) },
      { name: "long", value: "x".repeat(129) },
      { name: "space", value: "has a space in the value ok" },
      { name: "" },
      { name: "extra", scopes: ["read"] },
      { enabled: true },
    ]) {
      const answer = await call("POST", "/v1/api-keys", bad);
      expect(answer.status, `${JSON.stringify(bad)}: ${answer.text}`).toBe(400);
      expect(answer.body.error.code).toBe("ValidationError");
    }
    const after = await call("GET", "/v1/api-keys?limit=500");
    expect(after.body.items.length).toBe(before.body.items.length);

    const patchBad = await call("PATCH", `/v1/api-keys/${created.body.id}`, {});
    expect(patchBad.status, patchBad.text).toBe(400);
  });

  it("enables, disables, pages and deletes", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await call("POST", "/v1/api-keys", { name: `paged ${i}` });
      ids.push(created.body.id);
    }
    const disabled = await call("PATCH", `/v1/api-keys/${ids[0]}`, { enabled: false });
    expect(disabled.body.enabled).toBe(false);
    const enabled = await call("PATCH", `/v1/api-keys/${ids[0]}`, { enabled: true });
    expect(enabled.body.enabled).toBe(true);

    const first = await call("GET", "/v1/api-keys?limit=2");
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toBeTruthy();
    const second = await call("GET", `/v1/api-keys?limit=2&cursor=${first.body.nextCursor}`);
    const seen = [...first.body.items, ...second.body.items].map((key: { id: string }) => key.id);
    expect(new Set(seen).size).toBe(seen.length);

    const removed = await call("DELETE", `/v1/api-keys/${ids[1]}`);
    expect(removed.status, removed.text).toBe(204);
    expect((await call("GET", `/v1/api-keys/${ids[1]}`)).status).toBe(404);
    expect((await call("DELETE", `/v1/api-keys/${ids[1]}`)).status).toBe(404);
  });

  it("lets a read token list but not create or change", async () => {
    expect((await call("GET", "/v1/api-keys", undefined, readToken)).status).toBe(200);
    const create = await call("POST", "/v1/api-keys", { name: "nope" }, readToken);
    expect(create.status, create.text).toBe(403);
    const list = await call("GET", "/v1/api-keys?limit=500");
    expect(list.body.items.some((key: { name: string }) => key.name === "nope")).toBe(false);
  });
});
