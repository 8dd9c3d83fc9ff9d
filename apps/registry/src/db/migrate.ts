import { fileURLToPath } from "node:url";
import type { PgliteDatabase } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import type { PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import type { RegistryDatabase } from "./client.js";

/** The registry's committed SQL migrations; the same path from src/db and dist/db. */
export const registryMigrationsFolder = fileURLToPath(
  new URL("../../src/db/migrations", import.meta.url),
);

/** Its own bookkeeping table, so the api's migrations and the registry's never collide. */
export const registryMigrationsTable = "__registry_migrations";

export interface MigratableDatabase {
  db: RegistryDatabase;
  kind: "postgres" | "pglite";
  /** Runs `work` under a lock across replicas (the api's `OpenDatabase.withLock`). */
  withLock<T>(key: string, work: () => Promise<T>): Promise<T>;
}

/**
 * Applies the registry's migrations not applied yet, one replica at a time. Throws when a
 * migration fails; the caller exits non-zero.
 */
export async function runRegistryMigrations(
  database: MigratableDatabase,
  folder: string = registryMigrationsFolder,
): Promise<void> {
  const config = { migrationsFolder: folder, migrationsTable: registryMigrationsTable };
  await database.withLock("skiff:registry-migrations", async () => {
    if (database.kind === "pglite") {
      await migratePglite(database.db as PgliteDatabase, config);
    } else {
      await migratePostgres(database.db as PostgresJsDatabase, config);
    }
  });
}
