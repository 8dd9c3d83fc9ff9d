import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SkiffClient } from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SkiffProcess, startSkiffProcess, waitForHealth } from "../../test/process.js";
import { makeZip } from "../../test/zip.js";

// Functions as a resource on the embedded default (PGlite, a supervised redis-server): the
// zips (bytea), the dedup and cleanup of code rows, and the routes, through the real process.
const adminTokenLine = /^\s+(skf_[A-Za-z0-9_-]{43})$/m;

let skiff: SkiffProcess;
let client: SkiffClient;
let cwd = "";

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), "skiff-fn-embedded-"));
  // No local agent: these tests run no container.
  skiff = await startSkiffProcess(cwd, { SKIFF_LOCAL_AGENT: "false" });
  await waitForHealth(skiff, 60_000);
  const token = adminTokenLine.exec(skiff.output())?.[1] ?? "";
  expect(token, skiff.output()).not.toBe("");
  client = new SkiffClient({ baseUrl: skiff.baseUrl, token });
});

afterAll(async () => {
  await skiff?.stop();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

describe("functions on PGlite", () => {
  it("creates from a zip, replaces the code by upload, refuses bad zips and deletes", async () => {
    const zip = makeZip([{ name: "app.py", data: "def handler(event, context):\n  return 1\n" }]);
    const created = await client.createFunction({
      name: "embedded-fn",
      runtime: "python3.11",
      handler: "app.handler",
      code: { zipBase64: zip.toString("base64") },
      environment: { MODE: "embedded" },
    });
    expect(created).toMatchObject({ state: "Active", revision: 1, code: { size: zip.length } });
    expect(created.arn).toMatch(/^arn:aws:lambda:us-east-1:\d{12}:function:embedded-fn$/);

    const next = makeZip([{ name: "app.py", data: "def handler(event, context):\n  return 2\n" }]);
    const uploaded = await client.putFunctionCode("embedded-fn", new Uint8Array(next));
    expect(uploaded).toMatchObject({ revision: 2, code: { size: next.length } });
    expect(uploaded.code?.sha256).not.toBe(created.code?.sha256);

    await expect(
      client.putFunctionCode(
        "embedded-fn",
        new Uint8Array(makeZip([{ name: "../escape.py", data: "x" }])),
      ),
    ).rejects.toMatchObject({ status: 400, code: "ValidationError" });
    await expect(
      client.updateFunction("embedded-fn", { handler: "main.handler" }),
    ).rejects.toMatchObject({ status: 400 });

    const patched = await client.updateFunction("embedded-fn", { memory: 512, timeout: 60 });
    expect(patched).toMatchObject({ memory: 512, timeout: 60, revision: 3 });
    expect((await client.listFunctions()).items.map((fn) => fn.name)).toEqual(["embedded-fn"]);
    expect((await client.listFunctionInvocations("embedded-fn")).items).toEqual([]);
    expect((await client.listFunctionDeadLetters("embedded-fn")).items).toEqual([]);
    expect((await client.functionLogs("embedded-fn")).lines).toEqual([]);

    await client.deleteFunction("embedded-fn");
    await expect(client.getFunction("embedded-fn")).rejects.toMatchObject({ status: 404 });
  });
});
