import { fileURLToPath } from "node:url";
import type { PgliteDatabase } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import type { PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import type { OpenDatabase, Schema } from "./client.js";

/** The committed SQL migrations; the same path from src/db and dist/db. */
export const migrationsFolder = fileURLToPath(new URL("../../src/db/migrations", import.meta.url));

/**
 * Applies the migrations not applied yet. Replicas booting together take turns under a lock, so
 * each migration runs once. Throws when a migration fails; the caller exits non-zero.
 */
export async function runMigrations(
  database: OpenDatabase,
  folder: string = migrationsFolder,
): Promise<void> {
  await database.withLock("skiff:migrations", async () => {
    if (database.kind === "pglite") {
      await migratePglite(database.db as PgliteDatabase<Schema>, { migrationsFolder: folder });
    } else {
      await migratePostgres(database.db as PostgresJsDatabase<Schema>, {
        migrationsFolder: folder,
      });
    }
  });
}
