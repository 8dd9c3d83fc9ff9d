import { and, eq, notExists, sql } from "drizzle-orm";
import type { Database, Transaction } from "../../db/client.js";
import { functionCode, functions } from "../schema/functions.js";
import type { CheckedZip } from "./code-zip.js";

/** Stores a checked zip under its sha256; the same code stored twice is one row. */
export async function storeCode(tx: Database | Transaction, zip: CheckedZip): Promise<void> {
  await tx
    .insert(functionCode)
    .values({ sha256: zip.sha256, zip: zip.zip, size: zip.size, unzippedSize: zip.unzippedSize })
    .onConflictDoNothing();
}

/** Drops the code row `sha256` unless a function still runs it (after a delete or a new zip). */
export async function dropCodeIfUnused(
  tx: Database | Transaction,
  sha256: string | null,
): Promise<void> {
  if (!sha256) return;
  await tx
    .delete(functionCode)
    .where(
      and(
        eq(functionCode.sha256, sha256),
        notExists(
          tx.select({ one: sql`1` }).from(functions).where(eq(functions.codeSha256, sha256)),
        ),
      ),
    );
}

/** A zip's bytes by hex sha256, for the agents (undefined when no such code is stored). */
export async function readCode(db: Database, sha256: string): Promise<Buffer | undefined> {
  const [row] = await db
    .select({ zip: functionCode.zip })
    .from(functionCode)
    .where(eq(functionCode.sha256, sha256));
  return row?.zip;
}
