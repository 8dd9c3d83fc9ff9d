import { randomBytes } from "node:crypto";
import { queryRows } from "@skiff/registry";
import { type RegisterTaskDefinition, SkiffApiError, tokenScopes } from "@skiff/shared";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createToken } from "../../auth/services/tokens.js";
import { ProtocolAgent } from "../../test/fake-agent.js";
import { createTestStack, type TestStack } from "../../test/harness.js";
import { decryptSecretValue, secretsKeyFrom } from "../services/secret-crypto.js";
import { createSecret } from "../services/secrets.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack();
});
afterAll(() => stack.close());

const value = "hunter2-s3cr3t-value-9f8e7d";

async function json(response: Response) {
  const text = await response.text();
  return { status: response.status, text, body: text ? JSON.parse(text) : undefined };
}

function definition(family: string, secrets: { name: string; valueFrom: string }[], env = {}) {
  return {
    family,
    cpu: 256,
    memory: 512,
    containers: [{ name: "main", image: "skiff-test/busybox:latest", env, secrets }],
  } satisfies RegisterTaskDefinition;
}

async function expectApiError(work: Promise<unknown>, status: number, message?: RegExp) {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, "the call should fail").toBeInstanceOf(SkiffApiError);
  const apiError = error as SkiffApiError;
  expect(apiError.status, apiError.message).toBe(status);
  if (message) expect(apiError.message).toMatch(message);
  return apiError;
}

describe("secrets", () => {
  it("stores a value encrypted and never answers it", async () => {
    const created = await stack.admin.createSecret({
      name: "db-password",
      value,
      description: "the app's database",
    });
    expect(created).toMatchObject({
      name: "db-password",
      version: 1,
      description: "the app's database",
    });

    // No answer about it holds the value: create, get, list, the task definition using it.
    const answers = [
      await stack.request("/v1/secrets/db-password", {
        headers: { authorization: `Bearer ${stack.adminToken}` },
      }),
      await stack.request("/v1/secrets", {
        headers: { authorization: `Bearer ${stack.adminToken}` },
      }),
    ];
    for (const answer of answers) {
      const { status, text } = await json(answer);
      expect(status, text).toBe(200);
      expect(text).not.toContain(value);
      expect(text).toContain("db-password");
    }
    expect(JSON.stringify(created)).not.toContain(value);

    // The row holds no plaintext, only what decrypts to it with the api's key and this name.
    const rows = await queryRows<Record<string, unknown>>(
      stack.database.db,
      sql`select * from secrets where name = 'db-password'`,
    );
    expect(rows).toHaveLength(1);
    const row = rows[0] as { ciphertext: string; key_id: string };
    expect(JSON.stringify(rows)).not.toContain(value);
    expect(JSON.stringify(rows)).not.toContain(Buffer.from(value).toString("base64"));
    expect(row.key_id).toBe(stack.services.secretsKey.id);
    expect(decryptSecretValue(stack.services.secretsKey, "db-password", row.ciphertext)).toBe(
      value,
    );
    expect(() => decryptSecretValue(stack.services.secretsKey, "other", row.ciphertext)).toThrow();
  });

  it("keeps a new version on PUT and PATCH, answering without the value", async () => {
    await stack.admin.createSecret({ name: "api-key", value: "first-value-1" });
    const put = await stack.admin.updateSecret("api-key", { value: "second-value-2" });
    expect(put.version).toBe(2);
    const patched = await json(
      await stack.request("/v1/secrets/api-key", {
        method: "PATCH",
        headers: {
          authorization: `Bearer ${stack.adminToken}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ value: "third-value-3" }),
      }),
    );
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ name: "api-key", version: 3 });
    expect(patched.text).not.toContain("third-value-3");
    expect((await stack.admin.getSecret("api-key")).version).toBe(3);
    await expectApiError(stack.admin.updateSecret("nope", { value: "x" }), 404);
  });

  it("refuses a taken name, a bad name and an empty value, creating nothing", async () => {
    await stack.admin.createSecret({ name: "taken", value: "v" });
    await expectApiError(
      stack.admin.createSecret({ name: "taken", value: "w" }),
      409,
      /already exists/,
    );
    await expectApiError(stack.admin.createSecret({ name: "bad/name", value: "v" }), 400, /name/);
    await expectApiError(stack.admin.createSecret({ name: "empty", value: "" }), 400, /value/);
    await expectApiError(stack.admin.getSecret("empty"), 404);
  });

  it("pages the list by name", async () => {
    for (const name of ["page-a", "page-b", "page-c"])
      await stack.admin.createSecret({ name, value: "v" });
    const names: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await stack.admin.listSecrets({ limit: 2, ...(cursor ? { cursor } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(2);
      names.push(...page.items.map((secret) => secret.name));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(names.filter((name) => name.startsWith("page-"))).toEqual([
      "page-a",
      "page-b",
      "page-c",
    ]);
    expect(names).toEqual([...names].sort());
  });

  it("lets read tokens list and get, and only deploy or admin write", async () => {
    const tokens = Object.fromEntries(
      await Promise.all(
        tokenScopes.map(async (scope) => [
          scope,
          (await createToken(stack.database.db, { name: scope, scopes: [scope] })).token,
        ]),
      ),
    ) as Record<(typeof tokenScopes)[number], string>;
    const reader = stack.as(tokens.read);
    await stack.admin.createSecret({ name: "scoped", value: "v" });
    expect((await reader.getSecret("scoped")).name).toBe("scoped");
    expect((await reader.listSecrets()).items.length).toBeGreaterThan(0);
    await expectApiError(reader.createSecret({ name: "by-reader", value: "v" }), 403);
    await expectApiError(reader.updateSecret("scoped", { value: "v2" }), 403);
    await expectApiError(reader.deleteSecret("scoped"), 403);
    const deployer = stack.as(tokens.deploy);
    await deployer.createSecret({ name: "by-deployer", value: "v" });
    await deployer.updateSecret("by-deployer", { value: "v2" });
    await deployer.deleteSecret("by-deployer");
    await expectApiError(stack.as().listSecrets(), 401);
  });
});

describe("container secrets in task definitions", () => {
  it("refuses an unknown secret at registration, naming the field", async () => {
    await stack.admin.createSecret({ name: "known", value: "v" });
    const error = await expectApiError(
      stack.admin.registerTaskDefinition(
        definition("unknown-secret", [
          { name: "A", valueFrom: "known" },
          { name: "B", valueFrom: "missing-one" },
        ]),
      ),
      400,
    );
    expect(error.message).toContain("containers.0.secrets.1.valueFrom");
    expect(error.message).toContain("missing-one");
    await expectApiError(stack.admin.getTaskDefinition("unknown-secret"), 404);
  });

  it("refuses a variable named twice, or in env as well", async () => {
    await stack.admin.createSecret({ name: "twice", value: "v" });
    const error = await expectApiError(
      stack.admin.registerTaskDefinition(
        definition("clash", [{ name: "TOKEN", valueFrom: "twice" }], { TOKEN: "plain" }),
      ),
      400,
    );
    expect(error.message).toContain("containers.0.secrets.0.name");
  });

  it("shows the reference, not the value, in the task definition", async () => {
    await stack.admin.createSecret({ name: "shown", value });
    const registered = await stack.admin.registerTaskDefinition(
      definition("shows-reference", [{ name: "PASSWORD", valueFrom: "shown" }]),
    );
    expect(registered.containers[0]?.secrets).toEqual([{ name: "PASSWORD", valueFrom: "shown" }]);
    const read = await json(
      await stack.request("/v1/task-definitions/shows-reference", {
        headers: { authorization: `Bearer ${stack.adminToken}` },
      }),
    );
    expect(read.text).not.toContain(value);
  });

  it("refuses to delete a secret a revision references (409 naming it), unless force", async () => {
    await stack.admin.createSecret({ name: "in-use", value: "v" });
    await stack.admin.registerTaskDefinition(
      definition("uses-it", [{ name: "X", valueFrom: "in-use" }]),
    );
    await expectApiError(stack.admin.deleteSecret("in-use"), 409, /uses-it:1/);
    expect((await stack.admin.getSecret("in-use")).name).toBe("in-use");
    await stack.admin.deleteSecret("in-use", { force: true });
    await expectApiError(stack.admin.getSecret("in-use"), 404);
    await expectApiError(stack.admin.deleteSecret("in-use"), 404);
    await stack.admin.createSecret({ name: "unused", value: "v" });
    await stack.admin.deleteSecret("unused");
  });
});

describe("delivery to agents", () => {
  it("sends the values only to the node running the task, and stops a task whose secret is gone", async () => {
    await stack.admin.createPool("secret-pool");
    const runner = await ProtocolAgent.join(stack, "secret-pool");
    await stack.admin.createSecret({ name: "delivered", value });
    await stack.admin.createSecret({ name: "doomed", value: "short-lived" });
    await stack.admin.registerTaskDefinition(
      definition("delivered", [{ name: "PASSWORD", valueFrom: "delivered" }]),
    );
    await stack.admin.registerTaskDefinition(
      definition("doomed", [{ name: "GONE", valueFrom: "doomed" }]),
    );
    const [task] = await stack.admin.runTask({ taskDefinition: "delivered", pool: "secret-pool" });
    expect(task?.nodeId).toBe(runner.id);
    // A node in another pool, with nothing of this task, hears nothing of the value.
    await stack.admin.createPool("other-pool");
    const other = await ProtocolAgent.join(stack, "other-pool");
    expect(JSON.stringify(await other.assignments())).not.toContain(value);

    const assigned = await runner.assignments();
    const mine = assigned.assignments.find((assignment) => assignment.taskId === task?.id);
    expect(mine?.secrets).toEqual({ delivered: value });
    // Not in what readers see of the task.
    const read = await json(
      await stack.request(`/v1/tasks/${task?.id}`, {
        headers: { authorization: `Bearer ${stack.adminToken}` },
      }),
    );
    expect(read.text).not.toContain(value);

    await stack.admin.deleteSecret("doomed", { force: true });
    const [failing] = await stack.admin.runTask({ taskDefinition: "doomed", pool: "secret-pool" });
    const after = await runner.assignments();
    const gone = after.assignments.find((assignment) => assignment.taskId === failing?.id);
    expect(gone?.desiredStatus).toBe("stopped");
    expect(gone?.secrets).toBeUndefined();
    const stopped = await stack.admin.getTask(failing?.id ?? "");
    expect(stopped.stopCode).toBe("TaskFailedToStart");
    expect(stopped.stoppedReason).toContain("secret doomed does not exist");
  });

  it("stops a task whose secret was sealed with another api's key, naming the key to set", async () => {
    // As if another replica, with its own generated key, had stored it.
    const otherKey = secretsKeyFrom(randomBytes(32));
    await createSecret(stack.database.db, otherKey, { name: "foreign", value });
    await stack.admin.registerTaskDefinition(
      definition("foreign", [{ name: "FOREIGN", valueFrom: "foreign" }]),
    );
    await stack.admin.createPool("foreign-pool");
    const agent = await ProtocolAgent.join(stack, "foreign-pool");
    const [task] = await stack.admin.runTask({ taskDefinition: "foreign", pool: "foreign-pool" });
    const answer = await agent.assignments();
    expect(JSON.stringify(answer)).not.toContain(value);
    const mine = answer.assignments.find((assignment) => assignment.taskId === task?.id);
    expect(mine?.desiredStatus).toBe("stopped");
    const stopped = await stack.admin.getTask(task?.id ?? "");
    expect(stopped.stopCode).toBe("TaskFailedToStart");
    expect(stopped.stoppedReason).toContain(otherKey.id);
    expect(stopped.stoppedReason).toContain("SKIFF_SECRETS_KEY");
  });

  it("leaves a started task running when its secret goes, delivering what it can", async () => {
    await stack.admin.createSecret({ name: "kept", value });
    await stack.admin.createSecret({ name: "dropped", value: "dropped-value" });
    await stack.admin.registerTaskDefinition(
      definition("long-running", [
        { name: "KEPT", valueFrom: "kept" },
        { name: "DROPPED", valueFrom: "dropped" },
      ]),
    );
    await stack.admin.createPool("started-pool");
    const agent = await ProtocolAgent.join(stack, "started-pool");
    const [task] = await stack.admin.runTask({
      taskDefinition: "long-running",
      pool: "started-pool",
    });
    const first = await agent.assignments();
    expect(first.assignments.find((a) => a.taskId === task?.id)?.secrets).toEqual({
      kept: value,
      dropped: "dropped-value",
    });
    expect((await agent.report(task?.id ?? "", { status: "running" })).status).toBe(204);

    await stack.admin.deleteSecret("dropped", { force: true });
    const after = await agent.assignments();
    const mine = after.assignments.find((assignment) => assignment.taskId === task?.id);
    expect(mine?.desiredStatus).toBe("running");
    expect(mine?.secrets).toEqual({ kept: value });
    const read = await stack.admin.getTask(task?.id ?? "");
    expect(read.status).toBe("running");
    expect(read.desiredStatus).toBe("running");
    expect(read.stopCode ?? null).toBeNull();
  });
});
