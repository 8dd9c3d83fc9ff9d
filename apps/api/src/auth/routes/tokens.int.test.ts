import { SkiffApiError } from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestStack, type TestStack } from "../../test/harness.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack();
});
afterAll(() => stack.close());

describe("tokens", () => {
  it("creates a token whose secret works once shown and is never listed", async () => {
    const created = await stack.admin.createToken({ name: "ci", scopes: ["deploy"] });
    expect(created.token).toMatch(/^skf_[A-Za-z0-9_-]{43}$/);
    expect(created.prefix).toBe(created.token.slice(0, 10));

    const me = await stack.as(created.token).whoami();
    expect(me).toEqual({ tokenId: created.id, name: "ci", scopes: ["deploy"] });

    const listed = await stack.admin.listTokens();
    const row = listed.items.find((token) => token.id === created.id);
    expect(row).toBeDefined();
    expect(JSON.stringify(listed)).not.toContain(created.token);
  });

  it("stores only a hash of the secret", async () => {
    const created = await stack.admin.createToken({ name: "hashed", scopes: ["read"] });
    const rows = await stack.database.db.execute(
      `select * from api_tokens where id = '${created.id}'`,
    );
    expect(JSON.stringify(rows)).not.toContain(created.token.slice(4));
  });

  it("revokes a token at once", async () => {
    const created = await stack.admin.createToken({ name: "short-lived", scopes: ["read"] });
    await stack.admin.deleteToken(created.id);
    await expect(stack.as(created.token).whoami()).rejects.toMatchObject({
      status: 401,
      code: "Unauthorized",
    });
    await expect(stack.admin.deleteToken(created.id)).rejects.toMatchObject({
      status: 404,
      code: "NotFound",
    });
  });

  it("refuses an expired token", async () => {
    const created = await stack.admin.createToken({
      name: "expired",
      scopes: ["admin"],
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    await expect(stack.as(created.token).whoami()).rejects.toMatchObject({ status: 401 });
  });

  it("keeps lower scopes from managing tokens", async () => {
    const reader = await stack.admin.createToken({ name: "reader", scopes: ["read"] });
    const deployer = await stack.admin.createToken({ name: "deployer", scopes: ["deploy"] });
    for (const token of [reader.token, deployer.token]) {
      const error = await stack
        .as(token)
        .createToken({ name: "escalate", scopes: ["admin"] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SkiffApiError);
      expect(error).toMatchObject({ status: 403, code: "Forbidden" });
    }
  });

  it("pages through tokens newest first", async () => {
    for (let i = 0; i < 5; i++)
      await stack.admin.createToken({ name: `page-${i}`, scopes: ["read"] });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await stack.admin.listTokens({ limit: 2, cursor });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((token) => token.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort().reverse()).toEqual(seen);
    expect(seen.length).toBeGreaterThanOrEqual(6);
  });

  it("will not delete the last admin token", async () => {
    const { items } = await stack.admin.listTokens({ limit: 500 });
    const me = await stack.admin.whoami();
    for (const token of items) {
      if (token.scopes.includes("admin") && token.id !== me.tokenId)
        await stack.admin.deleteToken(token.id);
    }
    await expect(stack.admin.deleteToken(me.tokenId)).rejects.toMatchObject({
      status: 409,
      code: "Conflict",
    });
    expect((await stack.admin.whoami()).tokenId).toBe(me.tokenId);
  });
});
