import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { queryRows, withAdvisoryLock, withAdvisoryTryLock } from "@skiff/registry";
import type { ExtractTablesWithRelations } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema/index.js";

/**
 * Raw SQL's rows for either driver (postgres-js answers `execute()` with an array, PGlite with
 * `{ rows }`): every raw query in the api goes through it, never the driver's own execute.
 */
export { queryRows };

export type Schema = typeof schema;
/** The database, whichever engine is behind it. Query functions take this or a Transaction. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
export type Transaction = PgTransaction<
  PgQueryResultHKT,
  Schema,
  ExtractTablesWithRelations<Schema>
>;

export interface OpenDatabase {
  db: Database;
  kind: "postgres" | "pglite";
  /** Runs `work` while holding a database-wide lock named by `key`, across all replicas. */
  withLock<T>(key: string, work: () => Promise<T>): Promise<T>;
  /** Runs `work` unless another replica holds the lock `key`; resolves to whether it ran. */
  withTryLock(key: string, work: () => Promise<unknown>): Promise<boolean>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL URL; when absent an embedded PGlite database lives in `dataDir`. */
  url?: string;
  dataDir: string;
  poolSize?: number;
}

export async function openDatabase(options: DatabaseOptions): Promise<OpenDatabase> {
  if (options.url) return openPostgres(options.url, options.poolSize ?? 10);
  return openPglite(options.dataDir);
}

function openPostgres(url: string, poolSize: number): OpenDatabase {
  const sql = postgres(url, { max: poolSize, onnotice: () => {} });
  return {
    db: drizzlePostgres(sql, { schema }),
    kind: "postgres",
    withLock: (key, work) => withAdvisoryLock(sql, key, work),
    withTryLock: (key, work) => withAdvisoryTryLock(sql, key, work),
    close: () => sql.end({ timeout: 5 }),
  };
}

async function openPglite(dataDir: string): Promise<OpenDatabase> {
  const path = `${dataDir.replace(/\/+$/, "")}/pgdata`;
  mkdirSync(path, { recursive: true });
  const client = await PGlite.create(path);
  // PGlite serves this one process, so in-process bookkeeping is lock enough: a promise chain
  // per key for withLock, and the set of keys held for withTryLock.
  const chains = new Map<string, Promise<unknown>>();
  const held = new Set<string>();
  return {
    db: drizzlePglite(client, { schema }),
    kind: "pglite",
    withLock(key, work) {
      const run = (chains.get(key) ?? Promise.resolve()).then(work, work);
      const settled = run.catch(() => {});
      chains.set(key, settled);
      void settled.then(() => {
        if (chains.get(key) === settled) chains.delete(key);
      });
      return run;
    },
    // As pg_try_advisory_lock between replicas: a pass still running here makes the next skip.
    async withTryLock(key, work) {
      if (held.has(key)) return false;
      held.add(key);
      try {
        await work();
        return true;
      } finally {
        held.delete(key);
      }
    },
    close: () => client.close(),
  };
}
