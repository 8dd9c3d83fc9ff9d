import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { apiTokens } from "../../db/schema/index.js";
import { createTestStack, type TestStack } from "../../test/harness.js";
import { startSkiffProcess, waitForHealth } from "../../test/process.js";
import { createToken, ensureAdminToken } from "./tokens.js";

// Nobody may be locked out of Skiff: expired admin tokens do not count as a way in, and a
// command run on the server makes a new admin token from database access alone.
let stack: TestStack;
/** A client with a usable admin token (the stack's own is deleted on the way). */
let admin: ReturnType<TestStack["as"]>;
beforeAll(async () => {
  stack = await createTestStack();
  admin = stack.admin;
});
afterAll(() => stack.close());

const yesterday = () => new Date(Date.now() - 86_400_000).toISOString();

describe("the last usable admin token", () => {
  it("cannot be deleted while only expired admin tokens remain besides it", async () => {
    const expired = await createToken(stack.database.db, {
      name: "old admin",
      scopes: ["admin"],
      expiresAt: yesterday(),
    });
    const me = await stack.admin.whoami();
    await expect(stack.admin.deleteToken(me.tokenId)).rejects.toMatchObject({
      status: 409,
      code: "Conflict",
    });
    expect((await stack.admin.whoami()).tokenId).toBe(me.tokenId);
    // The expired one goes freely: it let nobody in.
    await stack.admin.deleteToken(expired.id);
  });

  it("is printed anew at start when every admin token has expired", async () => {
    await createToken(stack.database.db, {
      name: "old admin",
      scopes: ["admin"],
      expiresAt: yesterday(),
    });
    const me = await stack.admin.whoami();
    // Only the expired one left.
    await stack.database.db.delete(apiTokens).where(eq(apiTokens.id, me.tokenId));
    const secret = await ensureAdminToken(stack.database);
    expect(secret).toMatch(/^skf_/);
    admin = stack.as(secret);
    expect((await admin.whoami()).scopes).toEqual(["admin"]);
    // And only once: the new one is usable.
    expect(await ensureAdminToken(stack.database)).toBeUndefined();
  });
});

const adminScript = fileURLToPath(new URL("../../../dist/admin.js", import.meta.url));

function runAdmin(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [adminScript, ...args], {
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "silent", ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done) =>
    child.on("close", (code) => done({ code, stdout, stderr })),
  );
}

describe("node dist/admin.js create-token (needs npm run build)", () => {
  it("prints a new admin token once, from DATABASE_URL alone", async () => {
    const run = await runAdmin(["create-token", "--name", "rescue"], {
      DATABASE_URL: stack.databaseUrl,
    });
    expect(run.code, run.stderr).toBe(0);
    const secret = run.stdout.trim();
    expect(secret).toMatch(/^skf_[A-Za-z0-9_-]{43}$/);
    const whoami = await stack.as(secret).whoami();
    expect(whoami).toMatchObject({ name: "rescue", scopes: ["admin"] });
    const { items } = await admin.listTokens({ limit: 500 });
    expect(items.filter((token) => token.name === "rescue")).toHaveLength(1);
  });

  it("refuses a missing name, a bad scope or an unknown command, creating nothing", async () => {
    const before = (await admin.listTokens({ limit: 500 })).items.length;
    for (const args of [
      ["create-token"],
      ["create-token", "--name", "x", "--scope", "root"],
      ["make-coffee"],
    ]) {
      const run = await runAdmin(args, { DATABASE_URL: stack.databaseUrl });
      expect(run.code, `${args.join(" ")}: ${run.stderr}`).toBe(2);
      expect(run.stdout).toBe("");
      expect(run.stderr).toMatch(/usage/);
    }
    expect((await admin.listTokens({ limit: 500 })).items.length).toBe(before);
  });
});

describe("the embedded database's data directory (needs npm run build)", () => {
  it("is one process's: admin.js and a second start exit 1 while Skiff runs, then admin.js works", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "skiff-lock-"));
    const dataDir = join(cwd, ".skiff");
    const skiff = await startSkiffProcess(cwd, {
      REDIS_URL: inject("redisUrl"),
      SKIFF_LOCAL_AGENT: "false",
    });
    try {
      // PGlite's first start, beside another test file: the 10 s promise is main.int.test's.
      await waitForHealth(skiff, 30_000);
      expect(readFileSync(join(dataDir, "skiff.pid"), "utf8").trim()).toBe(String(skiff.child.pid));

      const refused = await runAdmin(["create-token", "--name", "while-running"], {
        SKIFF_DATA_DIR: dataDir,
      });
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stdout).toBe("");
      expect(refused.stderr).toMatch(
        new RegExp(`in use by another Skiff process \\(pid ${skiff.child.pid}\\)`),
      );
      expect(refused.stderr).toMatch(/stop it/);

      const second = await startSkiffProcess(cwd, {
        REDIS_URL: inject("redisUrl"),
        SKIFF_LOCAL_AGENT: "false",
      });
      expect(await second.exited).toBe(1);
      expect(second.output()).toMatch(/in use by another Skiff process/);
      // The first one was not disturbed.
      expect((await fetch(`${skiff.baseUrl}/v1/health`)).status).toBe(200);
    } finally {
      await skiff.stop("SIGTERM");
    }

    // Stopped: the directory is free again, and a pid file left by a dead process is taken over.
    writeFileSync(join(dataDir, "skiff.pid"), "999999\n");
    const run = await runAdmin(["create-token", "--name", "after-stop"], {
      SKIFF_DATA_DIR: dataDir,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toMatch(/^skf_/);
    rmSync(cwd, { recursive: true, force: true });
  }, 90_000);
});
