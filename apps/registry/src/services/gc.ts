import { and, asc, eq, inArray, lt, notExists, sql } from "drizzle-orm";
import type { RegistryContext } from "../context.js";
import { queryRows } from "../db/rows.js";
import { registryBlobs, registryManifestReferences } from "../db/schema/index.js";

export interface CollectOptions {
  /** Blobs touched more recently than this are kept, whatever references them. */
  graceMs: number;
  /** Blobs per transaction. */
  batch?: number;
}

/**
 * Frees blobs no manifest names and no push has touched within the grace period, while the
 * registry keeps serving. Each batch runs in one transaction: candidate rows are locked with
 * `for update skip locked`, which skips blobs a push holds right now and rechecks `touched_at`
 * on rows a push touched since the statement's snapshot (PostgreSQL re-evaluates the condition
 * on the newest row version); the files go while the locks are held, so an upload of the same
 * digest committing later writes its file after the delete, never before it.
 */
export async function collectGarbage(
  ctx: RegistryContext,
  options: CollectOptions,
): Promise<{ blobs: number; bytes: number }> {
  const batch = options.batch ?? 500;
  let blobs = 0;
  let bytes = 0;
  for (;;) {
    const freed = await ctx.db.transaction(async (tx) => {
      // One collector at a time across replicas; the lock goes with the transaction.
      await queryRows(tx, sql`select pg_advisory_xact_lock(hashtext('skiff:registry:gc'))`);
      const referenced = tx
        .select({ one: sql`1` })
        .from(registryManifestReferences)
        .where(eq(registryManifestReferences.digest, registryBlobs.digest));
      const candidates = await tx
        .select({ digest: registryBlobs.digest, size: registryBlobs.size })
        .from(registryBlobs)
        .where(
          and(
            lt(registryBlobs.touchedAt, sql`now() - ${options.graceMs} * interval '1 millisecond'`),
            notExists(referenced),
          ),
        )
        .orderBy(asc(registryBlobs.touchedAt))
        .limit(batch)
        .for("update", { skipLocked: true });
      if (candidates.length === 0) return [];
      // A fresh statement sees references committed since the select's snapshot.
      const named = await tx
        .selectDistinct({ digest: registryManifestReferences.digest })
        .from(registryManifestReferences)
        .where(
          inArray(
            registryManifestReferences.digest,
            candidates.map((blob) => blob.digest),
          ),
        );
      const keep = new Set(named.map((row) => row.digest));
      const victims = candidates.filter((blob) => !keep.has(blob.digest));
      if (victims.length === 0) return [];
      await tx.delete(registryBlobs).where(
        inArray(
          registryBlobs.digest,
          victims.map((blob) => blob.digest),
        ),
      );
      for (const blob of victims) await ctx.store.delete(blob.digest);
      return victims;
    });
    blobs += freed.length;
    bytes += freed.reduce((sum, blob) => sum + blob.size, 0);
    if (freed.length < batch) break;
  }
  if (blobs > 0) ctx.logger.info({ blobs, bytes }, "registry garbage collected");
  return { blobs, bytes };
}
