import { and, eq, inArray, sql } from "drizzle-orm";
import type { Queryable } from "../db/client.js";
import { registryBlobLinks, registryBlobs } from "../db/schema/index.js";

/** The size of a blob visible in `repository`, or undefined. */
export async function findLinkedBlob(
  db: Queryable,
  repository: string,
  digest: string,
): Promise<{ size: number } | undefined> {
  const [row] = await db
    .select({ size: registryBlobs.size })
    .from(registryBlobLinks)
    .innerJoin(registryBlobs, eq(registryBlobs.digest, registryBlobLinks.digest))
    .where(and(eq(registryBlobLinks.repository, repository), eq(registryBlobLinks.digest, digest)));
  return row;
}

/**
 * Marks blobs as just used, taking their row locks until the transaction ends. The collector
 * takes blobs with `for update skip locked` and rechecks their age, so a blob touched here is
 * never collected under a push that is using it. Returns the digests that exist.
 */
export async function touchBlobs(db: Queryable, digests: readonly string[]): Promise<Set<string>> {
  if (digests.length === 0) return new Set();
  const rows = await db
    .update(registryBlobs)
    .set({ touchedAt: sql`now()` })
    .where(inArray(registryBlobs.digest, [...digests]))
    .returning({ digest: registryBlobs.digest });
  return new Set(rows.map((row) => row.digest));
}

export async function linkBlob(db: Queryable, repository: string, digest: string): Promise<void> {
  await db.insert(registryBlobLinks).values({ repository, digest }).onConflictDoNothing();
}

/** Removes a blob from one repository; the collector frees its bytes when nothing else uses it. */
export async function unlinkBlob(
  db: Queryable,
  repository: string,
  digest: string,
): Promise<boolean> {
  const rows = await db
    .delete(registryBlobLinks)
    .where(and(eq(registryBlobLinks.repository, repository), eq(registryBlobLinks.digest, digest)))
    .returning({ digest: registryBlobLinks.digest });
  return rows.length > 0;
}
