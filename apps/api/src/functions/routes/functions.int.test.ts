import { createHash } from "node:crypto";
import { queryRows } from "@skiff/registry";
import { type CreateFunction, SkiffApiError } from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createToken } from "../../auth/services/tokens.js";
import { ProtocolAgent } from "../../test/fake-agent.js";
import { createTestRedis, createTestStack, type TestStack } from "../../test/harness.js";
import { makeZip } from "../../test/zip.js";
import { functionChangedChannel } from "../services/function-directory.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack();
});
afterAll(() => stack.close());

const nodeZip = makeZip([
  { name: "index.js", data: "exports.handler = async () => ({ ok: true });" },
]);
const b64 = (zip: Buffer) => zip.toString("base64");

function nodeFunction(name: string, extra: Partial<CreateFunction> = {}): CreateFunction {
  return {
    name,
    runtime: "nodejs22.x",
    handler: "index.handler",
    code: { zipBase64: b64(nodeZip) },
    ...extra,
  };
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

async function codeRows(): Promise<string[]> {
  const rows = await queryRows<{ sha256: string }>(
    stack.database.db,
    "select sha256 from function_code order by sha256",
  );
  return rows.map((row) => row.sha256);
}

const hex = (zip: Buffer) => createHash("sha256").update(zip).digest("hex");

describe("functions", () => {
  it("creates, gets, lists, patches and deletes a function", async () => {
    const created = await stack.admin.createFunction(
      nodeFunction("hello", { environment: { GREETING: "hi" }, description: "says hi" }),
    );
    expect(created).toMatchObject({
      name: "hello",
      runtime: "nodejs22.x",
      handler: "index.handler",
      memory: 128,
      timeout: 3,
      environment: { GREETING: "hi" },
      state: "Active",
      revision: 1,
      async: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 21_600 },
      code: { sha256: Buffer.from(hex(nodeZip), "hex").toString("base64"), size: nodeZip.length },
    });
    expect(created.id).toMatch(/^fn_/);
    expect(created.arn).toMatch(/^arn:aws:lambda:us-east-1:\d{12}:function:hello$/);
    expect(await stack.admin.getFunction("hello")).toEqual(created);

    // The account id is stable: a second function shares it.
    const other = await stack.admin.createFunction(nodeFunction("hello-2"));
    expect(other.arn.split(":")[4]).toBe(created.arn.split(":")[4]);
    const page = await stack.admin.listFunctions({ limit: 1 });
    expect(page.items.map((fn) => fn.name)).toEqual(["hello"]);
    const next = await stack.admin.listFunctions({ limit: 1, cursor: page.nextCursor ?? "" });
    expect(next.items.map((fn) => fn.name)).toEqual(["hello-2"]);

    const patched = await stack.admin.updateFunction("hello", {
      memory: 1024,
      timeout: 30,
      reservedConcurrency: 4,
      async: { maximumRetryAttempts: 0 },
    });
    expect(patched).toMatchObject({
      memory: 1024,
      timeout: 30,
      reservedConcurrency: 4,
      revision: 2,
      async: { maximumRetryAttempts: 0, maximumEventAgeSeconds: 21_600 },
      environment: { GREETING: "hi" },
    });
    const cleared = await stack.admin.updateFunction("hello", { reservedConcurrency: null });
    expect(cleared).toMatchObject({ reservedConcurrency: null, revision: 3 });

    await stack.admin.deleteFunction("hello");
    await expectApiError(stack.admin.getFunction("hello"), 404);
    await expectApiError(stack.admin.deleteFunction("hello"), 404);
    // hello-2 runs the same code: the row stays until the last function using it goes.
    expect(await codeRows()).toContain(hex(nodeZip));
    await stack.admin.deleteFunction("hello-2");
    expect(await codeRows()).not.toContain(hex(nodeZip));
  });

  it("answers Conflict for a taken name and keeps nothing of the refused create", async () => {
    await stack.admin.createFunction(nodeFunction("taken"));
    const otherZip = makeZip([{ name: "index.js", data: "exports.handler = () => 2;" }]);
    await expectApiError(
      stack.admin.createFunction(nodeFunction("taken", { code: { zipBase64: b64(otherZip) } })),
      409,
      /already exists/,
    );
    expect(await codeRows()).not.toContain(hex(otherZip));
    await stack.admin.deleteFunction("taken");
  });

  it("needs the deploy scope to change functions and read to see them", async () => {
    const { token } = await createToken(stack.database.db, { name: "ro", scopes: ["read"] });
    const reader = stack.as(token);
    await expectApiError(reader.createFunction(nodeFunction("nope")), 403);
    expect((await reader.listFunctions()).items).toBeDefined();
    await expectApiError(stack.as().listFunctions(), 401);
  });

  it("refuses bad code with a 400 naming the problem, creating nothing", async () => {
    const before = await codeRows();
    const cases: [string, CreateFunction, RegExp][] = [
      [
        "not a zip",
        nodeFunction("bad", { code: { zipBase64: b64(Buffer.from("hello, not a zip")) } }),
        /not a valid zip/,
      ],
      ["not base64", nodeFunction("bad", { code: { zipBase64: "%%%" } }), /not base64/],
      [
        "a .. name",
        nodeFunction("bad", {
          code: {
            zipBase64: b64(
              makeZip([
                { name: "index.js", data: "x" },
                { name: "../../etc/cron.d/evil", data: "x" },
              ]),
            ),
          },
        }),
        /unsafe entry name/,
      ],
      [
        "an absolute name",
        nodeFunction("bad", {
          code: { zipBase64: b64(makeZip([{ name: "/etc/passwd", data: "x" }])) },
        }),
        /unsafe entry name/,
      ],
      [
        "a bomb whose headers lie",
        nodeFunction("bad", {
          code: {
            zipBase64: b64(
              makeZip([
                { name: "index.js", data: "x" },
                { name: "big.bin", data: Buffer.alloc(10 * 1024 * 1024), declaredSize: 100 },
              ]),
            ),
          },
        }),
        /not a valid zip/,
      ],
      [
        "a missing handler file",
        nodeFunction("bad", { handler: "app.handler" }),
        /handler app.handler: the zip has no app.js or app.mjs or app.cjs/,
      ],
      [
        "a python function without its module",
        nodeFunction("bad", { runtime: "python3.11", handler: "app.handler" }),
        /app.py/,
      ],
      [
        "a provided function without bootstrap",
        nodeFunction("bad", { runtime: "provided" }),
        /bootstrap/,
      ],
      ["a handler without an export", nodeFunction("bad", { handler: "index" }), /file.export/],
      [
        "a node function without a handler",
        { name: "bad", runtime: "nodejs24.x", code: { zipBase64: b64(nodeZip) } },
        /handler: required/,
      ],
      [
        "an image function with a zip",
        { name: "bad", runtime: "image", code: { zipBase64: b64(nodeZip) } },
        /code.image/,
      ],
      [
        "a zip function with an image",
        nodeFunction("bad", { code: { image: "localhost:5000/team/fn:1" } }),
        /only for runtime image/,
      ],
      [
        "an unparseable image",
        { name: "bad", runtime: "image", code: { image: "Not An//Image!" } },
        /not an image reference/,
      ],
      [
        "a reserved variable",
        nodeFunction("bad", { environment: { AWS_REGION: "mars-1", OK: "1" } }),
        /environment.AWS_REGION: AWS_REGION is reserved/,
      ],
      [
        "an unknown secret",
        nodeFunction("bad", { secrets: [{ name: "DB", valueFrom: "no-such-secret" }] }),
        /secrets.0.valueFrom: no secret named no-such-secret/,
      ],
    ];
    for (const [what, input, message] of cases) {
      const error = await expectApiError(stack.admin.createFunction(input), 400, message);
      expect(error.code, what).toBe("ValidationError");
    }
    await expectApiError(stack.admin.getFunction("bad"), 404);
    expect(await codeRows()).toEqual(before);
  });

  it("refuses a zip that inflates past 250 MB, counting what actually inflates", async () => {
    // Honest headers this time: 260 MB of zeros deflate to a quarter of a megabyte.
    const bomb = makeZip([
      { name: "index.js", data: "x" },
      { name: "zeros.bin", data: Buffer.alloc(260 * 1024 * 1024) },
    ]);
    const response = await stack.request("/v1/functions/bomb/code", {
      method: "PUT",
      headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/zip" },
      body: new Uint8Array(bomb),
    });
    expect(response.status).toBe(404);
    await stack.admin.createFunction({
      name: "bomb",
      runtime: "nodejs22.x",
      handler: "index.handler",
    });
    const error = await expectApiError(
      stack.admin.putFunctionCode("bomb", new Uint8Array(bomb)),
      400,
      /larger than 262144000 bytes unzipped/,
    );
    expect(error.code).toBe("ValidationError");
    expect(await stack.admin.getFunction("bomb")).toMatchObject({ state: "Pending", code: null });
  });

  it("takes code with PUT .../code, bumps the revision and drops the code it replaced", async () => {
    const created = await stack.admin.createFunction({
      name: "uploaded",
      runtime: "provided",
    });
    expect(created).toMatchObject({ state: "Pending", code: null, revision: 1 });
    const first = makeZip([{ name: "bootstrap", data: "#!/bin/sh\necho hi\n", mode: 0o755 }]);
    const withCode = await stack.admin.putFunctionCode("uploaded", new Uint8Array(first));
    expect(withCode).toMatchObject({ state: "Active", revision: 2, code: { size: first.length } });
    expect(await codeRows()).toContain(hex(first));

    const second = makeZip([{ name: "bootstrap", data: "#!/bin/sh\necho bye\n", mode: 0o755 }]);
    const replaced = await stack.admin.putFunctionCode("uploaded", new Uint8Array(second));
    expect(replaced).toMatchObject({ revision: 3 });
    const rows = await codeRows();
    expect(rows).toContain(hex(second));
    expect(rows).not.toContain(hex(first));

    // Not a zip's media type: 415; no bootstrap: 400, and the function keeps its code.
    const text = await stack.request("/v1/functions/uploaded/code", {
      method: "PUT",
      headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "text/plain" },
      body: "hello",
    });
    expect(text.status, await text.text()).toBe(415);
    await expectApiError(
      stack.admin.putFunctionCode(
        "uploaded",
        new Uint8Array(makeZip([{ name: "main.sh", data: "x" }])),
      ),
      400,
      /bootstrap/,
    );
    expect((await stack.admin.getFunction("uploaded")).revision).toBe(3);
    await stack.admin.deleteFunction("uploaded");
    expect(await codeRows()).not.toContain(hex(second));
  });

  it("answers 413 for a zip past 50 MB, by its length or by what arrives", async () => {
    await stack.admin.createFunction({ name: "huge", runtime: "provided" });
    const tooBig = new Uint8Array(50 * 1024 * 1024 + 1);
    const declared = await stack.request("/v1/functions/huge/code", {
      method: "PUT",
      headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/zip" },
      body: tooBig,
    });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { error: { code: string } }).error.code).toBe(
      "PayloadTooLarge",
    );
    // No Content-Length: a stream, cut off at the limit.
    const chunk = new Uint8Array(1024 * 1024);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > 60) return controller.close();
        sent++;
        controller.enqueue(chunk);
      },
    });
    const streamed = await stack.request("/v1/functions/huge/code", {
      method: "PUT",
      headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/zip" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(sent, "the api stopped reading at the limit").toBeLessThan(60);
    // A zipBase64 larger than the JSON body limit: 413 too.
    const big = await stack.request("/v1/functions", {
      method: "POST",
      headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(
        nodeFunction("big", { code: { zipBase64: "A".repeat(2 * 1024 * 1024) } }),
      ),
    });
    expect(big.status).toBe(413);
    await stack.admin.deleteFunction("huge");
  });

  it("checks a runtime or handler change against the code the function keeps", async () => {
    await stack.admin.createFunction(nodeFunction("switch"));
    await expectApiError(
      stack.admin.updateFunction("switch", { handler: "main.handler" }),
      400,
      /main.js/,
    );
    await expectApiError(stack.admin.updateFunction("switch", { runtime: "image" }), 400, /image/);
    const python = makeZip([{ name: "app.py", data: "def handler(e, c):\n  return 1\n" }]);
    const changed = await stack.admin.updateFunction("switch", {
      runtime: "python3.11",
      handler: "app.handler",
      code: { zipBase64: b64(python) },
    });
    expect(changed).toMatchObject({ runtime: "python3.11", revision: 2 });
    expect(await codeRows()).not.toContain(hex(nodeZip));
    const image = await stack.admin.updateFunction("switch", {
      runtime: "image",
      code: { image: "localhost:5000/team/fn:1" },
    });
    expect(image).toMatchObject({ code: { image: "localhost:5000/team/fn:1", sha256: null } });
    await stack.admin.deleteFunction("switch");
  });

  it("keeps secrets by name only and publishes fn:changed on every change", async () => {
    await stack.admin.createSecret({ name: "fn-db-password", value: "s3cr3t-value-abc" });
    const listener = createTestRedis(stack.services.redis.options.keyPrefix);
    const heard: string[] = [];
    listener.on("message", (_channel: string, id: string) => heard.push(id));
    await listener.subscribe(`${stack.services.redis.options.keyPrefix}${functionChangedChannel}`);
    try {
      const created = await stack.admin.createFunction(
        nodeFunction("with-secret", {
          secrets: [{ name: "DB_PASSWORD", valueFrom: "fn-db-password" }],
        }),
      );
      expect(JSON.stringify(created)).not.toContain("s3cr3t-value-abc");
      expect(created.secrets).toEqual([{ name: "DB_PASSWORD", valueFrom: "fn-db-password" }]);
      const config = await stack.services.functionDirectory.get("with-secret");
      expect(config?.environment.DB_PASSWORD).toBe("s3cr3t-value-abc");
      await stack.admin.updateFunction("with-secret", { memory: 256 });
      // The secret cannot go while the function uses it (the function's invocations would fail).
      await expectApiError(
        stack.admin.deleteSecret("fn-db-password"),
        409,
        /referenced by function with-secret/,
      );
      await stack.admin.deleteFunction("with-secret");
      await stack.admin.deleteSecret("fn-db-password");
      await expect.poll(() => heard).toEqual([created.id, created.id, created.id]);
    } finally {
      listener.disconnect();
    }
  });
});

describe("the agent's code route", () => {
  it("serves a zip to nodes of the fargate pool only", async () => {
    const zip = makeZip([{ name: "index.js", data: "exports.handler = async () => 'agent';" }]);
    await stack.admin.createFunction(nodeFunction("for-agents", { code: { zipBase64: b64(zip) } }));
    const fargate = await ProtocolAgent.join(stack, "fargate");
    await stack.admin.createPool("fn-users");
    const other = await ProtocolAgent.join(stack, "fn-users");
    const fetchCode = (credential?: string, sha = hex(zip)) =>
      stack.request(`/v1/agent/function-code/${sha}`, {
        headers: credential ? { authorization: `Bearer ${credential}` } : {},
      });

    const served = await fetchCode(fargate.node.credential);
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toBe("application/zip");
    expect(served.headers.get("content-length")).toBe(String(zip.length));
    expect(Buffer.from(await served.arrayBuffer()).equals(zip)).toBe(true);

    expect((await fetchCode()).status).toBe(401);
    expect((await fetchCode("skn_not-a-credential")).status).toBe(401);
    expect((await fetchCode(stack.adminToken)).status).toBe(401);
    const refused = await fetchCode(other.node.credential);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("Forbidden");
    expect((await fetchCode(fargate.node.credential, "0".repeat(64))).status).toBe(404);
    expect((await fetchCode(fargate.node.credential, "not-hex")).status).toBe(400);
    await stack.admin.deleteFunction("for-agents");
    expect((await fetchCode(fargate.node.credential)).status).toBe(404);
  });
});
