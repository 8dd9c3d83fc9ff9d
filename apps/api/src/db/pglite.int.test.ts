import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenDatabase, openDatabase, queryRows } from "./client.js";

// The embedded database's stand-ins for PostgreSQL's advisory locks, which the registry's
// maintenance and the migrations rely on, behave as the real ones do within one process.
let dir = "";
let database: OpenDatabase;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "skiff-pglite-"));
  database = await openDatabase({ dataDir: dir });
});

afterAll(async () => {
  await database?.close();
  rmSync(dir, { recursive: true, force: true });
});

const tick = () => new Promise((done) => setTimeout(done, 20));

describe("PGlite", () => {
  it("answers raw SQL with rows through queryRows", async () => {
    expect(database.kind).toBe("pglite");
    expect(await queryRows(database.db, "select 1 as one")).toEqual([{ one: 1 }]);
  });

  it("skips a try-lock pass while another pass on the same key still runs", async () => {
    let release = () => {};
    const first = database.withTryLock(
      "maintenance",
      () => new Promise<void>((done) => (release = done)),
    );
    await tick();
    expect(await database.withTryLock("maintenance", async () => {})).toBe(false);
    expect(await database.withTryLock("other", async () => {})).toBe(true);
    release();
    expect(await first).toBe(true);
    expect(await database.withTryLock("maintenance", async () => {})).toBe(true);
  });

  it("runs locked work one at a time per key, and a lock taken inside another key's does not wait for it", async () => {
    const order: string[] = [];
    const slow = database.withLock("a", async () => {
      await tick();
      order.push("a1");
    });
    const second = database.withLock("a", async () => order.push("a2"));
    const nested = await database.withLock("b", () =>
      database.withLock("c", async () => "inner ran"),
    );
    expect(nested).toBe("inner ran");
    await Promise.all([slow, second]);
    expect(order).toEqual(["a1", "a2"]);
  });
});
