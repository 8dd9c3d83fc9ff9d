import type { SQLWrapper } from "drizzle-orm";
import type { Queryable } from "./client.js";

/**
 * Runs raw SQL and returns its rows, whichever driver is behind `db`: postgres-js answers
 * `execute()` with an array of rows, PGlite with `{ rows }`. Every raw query in Skiff goes
 * through this, so code written against one driver cannot break on the other.
 */
export async function queryRows<Row extends Record<string, unknown>>(
  db: Pick<Queryable, "execute">,
  query: SQLWrapper | string,
): Promise<Row[]> {
  const result: unknown = await db.execute(query);
  if (Array.isArray(result)) return result as Row[];
  return ((result as { rows?: Row[] }).rows ?? []) as Row[];
}
