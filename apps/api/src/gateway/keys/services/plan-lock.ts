import { sql } from "drizzle-orm";
import { queryRows, type Transaction } from "../../../db/client.js";

/**
 * Serialises changes to usage plans' APIs and keys, and the deletion of APIs plans name: so two
 * changes cannot together break the one-plan-per-API rule, and a plan created or changed while
 * one of its APIs is deleted cannot keep that API's id.
 */
export async function lockPlans(tx: Transaction): Promise<void> {
  await queryRows(tx, sql`select pg_advisory_xact_lock(hashtext('skiff:usage-plans'))`);
}
