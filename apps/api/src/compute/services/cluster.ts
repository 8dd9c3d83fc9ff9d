import { newId } from "@skiff/shared";
import type { Database } from "../../db/client.js";
import { cluster } from "../../db/schema/index.js";

/**
 * This install's id, made once (at the first registration) and kept in the database: two api
 * replicas racing to make it both end up with the one row that won.
 */
export async function ensureClusterId(db: Database): Promise<string> {
  const [existing] = await db.select({ id: cluster.id }).from(cluster);
  if (existing) return existing.id;
  await db
    .insert(cluster)
    .values({ singleton: true, id: newId("cluster") })
    .onConflictDoNothing();
  const [row] = await db.select({ id: cluster.id }).from(cluster);
  if (!row) throw new Error("the cluster row is missing after its insert");
  return row.id;
}
