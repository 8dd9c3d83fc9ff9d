import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CreateFunction, createFunctionSchema } from "@skiff/shared";
import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { type OpenDatabase, openDatabase } from "../../db/client.js";
import { runMigrations } from "../../db/migrate.js";
import { secretsKeyFrom } from "../../secrets/services/secret-crypto.js";
import { createSecret } from "../../secrets/services/secrets.js";
import { createTestDatabase, createTestRedis } from "../../test/harness.js";
import { makeZip } from "../../test/zip.js";
import { functions } from "../schema/functions.js";
import { FunctionDirectory } from "./function-directory.js";
import { createFunction, deleteFunction, listFunctions, updateFunction } from "./functions.js";

// Two api replicas' directories on one Redis: a change made through one is seen by the other
// at once (fn:changed), not after the TTL. On both database modes.

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function postgres(): Promise<OpenDatabase> {
  const test = await createTestDatabase();
  const database = await openDatabase({ url: test.url, dataDir: "", poolSize: 4 });
  cleanups.push(async () => {
    await database.close();
    await test.drop();
  });
  return database;
}

async function pglite(): Promise<OpenDatabase> {
  const dir = mkdtempSync(join(tmpdir(), "skiff-fn-directory-"));
  const database = await openDatabase({ dataDir: dir });
  await runMigrations(database);
  cleanups.push(async () => {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return database;
}

const zip = makeZip([{ name: "index.js", data: "exports.handler = async () => 1;" }]);

describe.each([
  ["PostgreSQL", postgres],
  ["PGlite", pglite],
])("FunctionDirectory on %s", (_mode, open) => {
  async function replicas() {
    const { db } = await open();
    const prefix = `test:${randomBytes(6).toString("hex")}:`;
    const secretsKey = secretsKeyFrom(randomBytes(32));
    const make = async () => {
      const redis = createTestRedis(prefix);
      // An hour of TTL: only fn:changed can make these forget.
      const directory = new FunctionDirectory({
        db,
        redis,
        secretsKey,
        region: "eu-west-1",
        ttlMs: 3_600_000,
      });
      await directory.start();
      cleanups.push(() => {
        directory.stop();
        redis.disconnect();
      });
      return { directory, deps: { db, redis, directory } };
    };
    return { db, secretsKey, a: await make(), b: await make() };
  }

  const input = (extra: Partial<CreateFunction> = {}) =>
    createFunctionSchema.parse({
      name: "cached",
      runtime: "nodejs22.x",
      handler: "index.handler",
      code: { zipBase64: zip.toString("base64") },
      ...extra,
    });

  it("sees another replica's create, change and delete at once, secrets resolved", async () => {
    const { db, secretsKey, a, b } = await replicas();
    await createSecret(db, secretsKey, { name: "token", value: "t0ps3cret" });
    // b learns the name is missing (and remembers it), then a creates it.
    expect(await b.directory.get("cached")).toBeUndefined();
    const created = await createFunction(
      a.deps,
      input({ secrets: [{ name: "API_TOKEN", valueFrom: "token" }], environment: { A: "1" } }),
    );
    await expect
      .poll(() => b.directory.get("cached"))
      .toMatchObject({
        id: created.id,
        arn: `arn:aws:lambda:eu-west-1:${created.arn.split(":")[4]}:function:cached`,
        revision: 1,
        environment: { A: "1", API_TOKEN: "t0ps3cret" },
        code: { sha256: expect.stringMatching(/^[a-f0-9]{64}$/), size: zip.length },
        async: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 21_600 },
      });
    expect(await b.directory.getById(created.id)).toMatchObject({ name: "cached" });

    // A change written behind the directories' backs is not seen (the cache holds)...
    await db.update(functions).set({ memory: 999 }).where(eq(functions.id, created.id));
    expect((await b.directory.get("cached"))?.memory).toBe(128);
    // ...one made through a replica is, by the other one, without waiting out the TTL.
    await updateFunction(a.deps, "cached", { memory: 2048 });
    await expect.poll(async () => (await b.directory.get("cached"))?.memory).toBe(2048);
    expect((await b.directory.getById(created.id))?.revision).toBe(2);

    await deleteFunction(a.deps, "cached");
    await expect.poll(() => b.directory.get("cached")).toBeUndefined();
    await expect.poll(() => b.directory.getById(created.id)).toBeUndefined();
    expect((await listFunctions(a.deps, { limit: 10 })).items).toEqual([]);
  });

  it("reads the database once for concurrent misses of one name", async () => {
    const { a } = await replicas();
    await createFunction(a.deps, input({ name: "shared-miss" }));
    a.directory.forgetAll();
    let reads = 0;
    const select = a.deps.db.select.bind(a.deps.db);
    // Counts the directory's own reads of the table while the ten calls race.
    (a.deps.db as { select: typeof select }).select = ((...args: Parameters<typeof select>) => {
      reads++;
      return select(...args);
    }) as typeof select;
    try {
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => a.directory.get("shared-miss")),
      );
      expect(new Set(answers.map((config) => config?.id)).size).toBe(1);
      expect(reads).toBe(1);
    } finally {
      (a.deps.db as { select: typeof select }).select = select;
    }
  });

  it("stores and dedups code zips (bytea) on this database", async () => {
    const { db, a } = await replicas();
    const one = await createFunction(a.deps, input({ name: "one" }));
    const two = await createFunction(a.deps, input({ name: "two" }));
    expect(one.code?.sha256).toBe(two.code?.sha256);
    const { functionCode } = await import("../schema/functions.js");
    const rows = await db.select().from(functionCode);
    expect(rows).toHaveLength(1);
    expect(Buffer.from(rows[0]?.zip ?? []).equals(zip)).toBe(true);
    await deleteFunction(a.deps, "one");
    expect(await db.select().from(functionCode)).toHaveLength(1);
    await deleteFunction(a.deps, "two");
    expect(await db.select().from(functionCode)).toHaveLength(0);
  });
});
