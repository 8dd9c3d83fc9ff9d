import { readdirSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { ensureAdminToken } from "../auth/services/tokens.js";
import { createTestDatabase } from "../test/harness.js";
import { type OpenDatabase, openDatabase } from "./client.js";
import { migrationsFolder, runMigrations } from "./migrate.js";

const opened: OpenDatabase[] = [];
const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const database of opened) await database.close();
  for (const drop of drops) await drop();
});

async function emptyDatabase(): Promise<string> {
  const { url, drop } = await createTestDatabase();
  drops.push(drop);
  const database = await openDatabase({ url, dataDir: "" });
  await database.db.execute(
    "drop schema public cascade; create schema public; drop schema if exists drizzle cascade",
  );
  await database.close();
  return url;
}

async function open(url: string): Promise<OpenDatabase> {
  const database = await openDatabase({ url, dataDir: "", poolSize: 3 });
  opened.push(database);
  return database;
}

describe("migrations", () => {
  it("are committed SQL", () => {
    expect(
      readdirSync(migrationsFolder).filter((file) => file.endsWith(".sql")).length,
    ).toBeGreaterThan(0);
  });

  it("apply once when replicas boot together", async () => {
    const url = await emptyDatabase();
    const replicas = await Promise.all([open(url), open(url), open(url)]);
    await Promise.all(replicas.map((replica) => runMigrations(replica)));
    const applied = await replicas[0]!.db.execute(
      "select count(*)::int as n from drizzle.__drizzle_migrations",
    );
    const files = readdirSync(migrationsFolder).filter((file) => file.endsWith(".sql"));
    expect((applied as unknown[])[0]).toEqual({ n: files.length });
  });

  it("fail loudly when the schema conflicts", async () => {
    const url = await emptyDatabase();
    const database = await open(url);
    await database.db.execute("create table api_tokens (nonsense int)");
    await expect(runMigrations(database)).rejects.toThrow();
  });
});

describe("first admin token", () => {
  it("is created once when replicas start together", async () => {
    const { url, drop } = await createTestDatabase();
    drops.push(drop);
    const replicas = await Promise.all([open(url), open(url), open(url)]);
    const secrets = await Promise.all(replicas.map((replica) => ensureAdminToken(replica)));
    expect(secrets.filter(Boolean)).toHaveLength(1);
    expect(await ensureAdminToken(replicas[0]!)).toBeUndefined();
  });
});
