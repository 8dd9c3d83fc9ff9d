import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestStack, type TestStack } from "../../test/harness.js";

// Join tokens as an operator uses them: limited uses, listed without secrets, revoked; and the
// address a registering node may declare.
let stack: TestStack;
let pools = 0;
beforeAll(async () => {
  stack = await createTestStack();
});
afterAll(() => stack.close());

async function newPool(): Promise<string> {
  const name = `jt-${++pools}`;
  await stack.admin.createPool(name);
  return name;
}

async function register(joinToken: string, extra: Record<string, unknown> = {}) {
  const response = await stack.request("/v1/agent/register", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      joinToken,
      name: `host-${Math.random()}`,
      capacity: { cpu: 1024, memory: 1024 },
      ...extra,
    }),
  });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) };
}

describe("join tokens", () => {
  it("admits maxUses nodes, then refuses with a message saying it is used up", async () => {
    const pool = await newPool();
    const { token, maxUses } = await stack.admin.createJoinToken(pool, undefined, 1);
    expect(maxUses).toBe(1);
    const first = await register(token);
    expect(first.status, first.text).toBe(201);
    const second = await register(token);
    expect(second.status, second.text).toBe(403);
    expect(second.body.error.code).toBe("Forbidden");
    expect(second.body.error.message).toMatch(/used by 1 node/);
  });

  it("lets exactly one of two racing registrations use a 1-use token", async () => {
    const pool = await newPool();
    for (let round = 0; round < 5; round++) {
      const { token } = await stack.admin.createJoinToken(pool, undefined, 1);
      const answers = await Promise.all([register(token), register(token), register(token)]);
      const statuses = answers.map((answer) => answer.status).sort();
      expect(statuses, answers.map((a) => a.text).join("\n")).toEqual([201, 403, 403]);
    }
    const listed = await stack.admin.listJoinTokens(pool);
    expect(listed.every((one) => one.uses === 1 && one.state === "used-up")).toBe(true);
    expect((await stack.admin.listNodes({ pool })).length).toBe(5);
  });

  it("admits any number of nodes without maxUses (autoscaling groups)", async () => {
    const pool = await newPool();
    const { token, maxUses } = await stack.admin.createJoinToken(pool);
    expect(maxUses).toBeNull();
    for (let i = 0; i < 3; i++) expect((await register(token)).status).toBe(201);
  });

  it("lists a pool's tokens without secrets, and a revoked one admits nobody", async () => {
    const pool = await newPool();
    const kept = await stack.admin.createJoinToken(pool, 600, 2);
    const revoked = await stack.admin.createJoinToken(pool);
    expect((await register(kept.token)).status).toBe(201);
    await stack.admin.revokeJoinToken(pool, revoked.id);
    // Twice is fine: the state wanted is reached.
    await stack.admin.revokeJoinToken(pool, revoked.id);

    const refused = await register(revoked.token);
    expect(refused.status, refused.text).toBe(401);
    expect(refused.body.error.message).toMatch(/revoked/);

    const response = await stack.request(`/v1/pools/${pool}/join-tokens`, {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    expect(text).not.toContain(kept.token);
    expect(text).not.toContain(revoked.token);
    const listed = JSON.parse(text).items as Record<string, unknown>[];
    expect(listed).toHaveLength(2);
    expect(listed.find((one) => one.id === kept.id)).toMatchObject({
      pool,
      maxUses: 2,
      uses: 1,
      state: "active",
      revokedAt: null,
      prefix: kept.token.slice(0, 10),
    });
    expect(listed.find((one) => one.id === revoked.id)).toMatchObject({
      state: "revoked",
      uses: 0,
    });
  });

  it("answers 404 for another pool's token or an unknown pool, and admin only", async () => {
    const pool = await newPool();
    const other = await newPool();
    const { id } = await stack.admin.createJoinToken(pool);
    await expect(stack.admin.revokeJoinToken(other, id)).rejects.toMatchObject({ status: 404 });
    await expect(stack.admin.listJoinTokens("nope")).rejects.toMatchObject({ status: 404 });
    const { token: read } = await stack.admin.createToken({ name: "reader", scopes: ["read"] });
    await expect(stack.as(read).listJoinTokens(pool)).rejects.toMatchObject({ status: 403 });
    await expect(stack.as(read).revokeJoinToken(pool, id)).rejects.toMatchObject({ status: 403 });
    expect((await register((await stack.admin.createJoinToken(pool)).token)).status).toBe(201);
  });

  it("refuses a bad maxUses with a 400 naming the field", async () => {
    const pool = await newPool();
    for (const maxUses of [0, -1, 1.5, "1"]) {
      const response = await stack.request(`/v1/pools/${pool}/join-tokens`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${stack.adminToken}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ maxUses }),
      });
      const text = await response.text();
      expect(response.status, text).toBe(400);
      expect(text).toContain("maxUses");
    }
    expect(await stack.admin.listJoinTokens(pool)).toEqual([]);
  });
});

describe("a registering node's address", () => {
  it("must be a bare host name or IP: no scheme, user info, port, path or query", async () => {
    const pool = await newPool();
    const { token } = await stack.admin.createJoinToken(pool);
    for (const address of [
      "http://169.254.169.254",
      "evil.example/latest/meta-data",
      "user@10.0.0.5",
      "10.0.0.5:8080",
      "10.0.0.5?x=1",
      "10.0.0.5#frag",
      "[::1]:80",
      "a b",
    ]) {
      const refused = await register(token, { address });
      expect(refused.status, `${address}: ${refused.text}`).toBe(400);
      expect(refused.body.error.message, address).toMatch(/address/);
    }
    // A refused registration spent no node.
    expect(await stack.admin.listNodes({ pool })).toEqual([]);
    for (const address of ["10.0.0.5", "node-1.example.internal", "localhost", "fd00::5"]) {
      const accepted = await register(token, { address });
      expect(accepted.status, `${address}: ${accepted.text}`).toBe(201);
    }
  });

  it("is never link-local, unspecified, multicast or an invalid IPv4 address", async () => {
    const pool = await newPool();
    const { token } = await stack.admin.createJoinToken(pool);
    for (const address of [
      "169.254.169.254",
      "::ffff:169.254.169.254",
      "fe80::1",
      "0.0.0.0",
      "::",
      "224.0.0.1",
      "ff02::1",
      "999.1.1.1",
      "2130706433",
    ]) {
      const refused = await register(token, { address });
      expect(refused.status, `${address}: ${refused.text}`).toBe(400);
      expect(refused.body.error.code).toBe("ValidationError");
      expect(refused.body.error.message, address).toMatch(/address/);
    }
    expect(await stack.admin.listNodes({ pool })).toEqual([]);
  });

  it("is loopback only when the agent registers over loopback", async () => {
    const pool = await newPool();
    const { token } = await stack.admin.createJoinToken(pool, undefined, 10);
    // A request arriving from another host, as @hono/node-server would hand it to the app.
    const from = (remoteAddress: string) => ({
      incoming: { socket: { remoteAddress, remotePort: 40000, remoteFamily: "IPv4" } },
    });
    const registerFrom = async (remoteAddress: string, address: string) => {
      const response = await stack.app.request(
        "http://skiff.test/v1/agent/register",
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            joinToken: token,
            name: `host-${Math.random()}`,
            capacity: { cpu: 1024, memory: 1024 },
            address,
          }),
        },
        from(remoteAddress),
      );
      const text = await response.text();
      return { status: response.status, text, body: JSON.parse(text) };
    };
    for (const address of ["127.0.0.1", "127.1.2.3", "::1", "localhost", "::ffff:127.0.0.1"]) {
      const refused = await registerFrom("10.1.2.3", address);
      expect(refused.status, `${address}: ${refused.text}`).toBe(400);
      expect(refused.body.error.message, address).toMatch(/loopback/);
    }
    expect(await stack.admin.listNodes({ pool })).toEqual([]);
    // The all-in-one's own agent, on the api's host.
    expect((await registerFrom("127.0.0.1", "127.0.0.1")).status).toBe(201);
    expect((await registerFrom("::ffff:127.0.0.1", "127.0.0.1")).status).toBe(201);
    expect((await registerFrom("10.1.2.3", "10.1.2.3")).status).toBe(201);
  });
});
