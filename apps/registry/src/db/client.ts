import type { ExtractTablesWithRelations } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import type * as schema from "./schema/index.js";

export type RegistrySchema = typeof schema;

/**
 * Any drizzle PostgreSQL database: the api's postgres-js or PGlite one, or the registry's own.
 * The registry only uses the core query builder, never relational queries, so the schema the
 * database was opened with does not matter.
 */
// biome-ignore lint/suspicious/noExplicitAny: the caller's schema type is irrelevant here (see above).
export type RegistryDatabase = PgDatabase<PgQueryResultHKT, any>;
export type RegistryTransaction = PgTransaction<
  PgQueryResultHKT,
  RegistrySchema,
  ExtractTablesWithRelations<RegistrySchema>
>;
/** A database or a transaction: query functions take either. */
export type Queryable = RegistryDatabase | RegistryTransaction;
