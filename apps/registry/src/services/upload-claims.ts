import { randomUUID } from "node:crypto";
import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { RegistryContext } from "../context.js";
import { registryRepositories, registryUploads } from "../db/schema/index.js";
import { RegistryError } from "../errors.js";

/** How long a claim lasts without renewal: a replica that died mid-request frees it this late. */
export const claimLeaseMs = 60_000;
/** How often a request renews its claim while it streams. */
const claimRenewMs = 15_000;
/**
 * How long a request waits for a session another request holds before it is refused: long
 * enough for a request whose connection was just cut to notice and let go.
 */
const claimWaitMs = 3_000;

/**
 * One request's hold on an upload session. While it lasts no other request, on this replica
 * or another, writes to or ends the session; `signal` aborts when the hold was lost (the lease
 * ran out unrenewed), so the holder stops writing.
 */
export interface UploadClaim {
  token: string;
  signal: AbortSignal;
  /** The repository's storage quota in bytes, read with the claim; null for none. */
  quota: number | null;
  /** Set once the session is gone (committed or cancelled): releasing it costs no query then. */
  ended: boolean;
}

/** The claim columns of a session claimed now, for an insert or an update. */
export function newClaimValues(token: string) {
  return {
    claim: token,
    claimedUntil: sql`now() + ${claimLeaseMs} * interval '1 millisecond'`,
    updatedAt: sql`now()`,
  };
}

/**
 * Claims the session `id` of `repository` for one request. A session another request holds is
 * waited for a moment, then refused with 416 BLOB_UPLOAD_INVALID (the spec's answer to a
 * request out of step with the upload's state); an unknown one with BLOB_UPLOAD_UNKNOWN.
 */
export async function claimUpload(
  ctx: RegistryContext,
  repository: string,
  id: string,
): Promise<UploadClaim & { release(): Promise<void> }> {
  const unknown = () =>
    new RegistryError("BLOB_UPLOAD_UNKNOWN", `upload ${id.slice(0, 100)} is unknown`);
  if (!/^[a-f0-9]{32}$/.test(id)) throw unknown();
  const token = randomUUID();
  const deadline = Date.now() + claimWaitMs;
  for (let pause = 20; ; pause = Math.min(pause * 2, 250)) {
    const claimed = await tryClaim(ctx, repository, id, token);
    if (claimed) return holdClaim(ctx, id, token, claimed.quota);
    const [exists] = await ctx.db
      .select({ id: registryUploads.id })
      .from(registryUploads)
      .where(and(eq(registryUploads.id, id), eq(registryUploads.repository, repository)));
    if (!exists) throw unknown();
    if (Date.now() + pause > deadline) {
      throw new RegistryError(
        "BLOB_UPLOAD_INVALID",
        "another request is writing to this upload; wait for it, then ask for the upload's status",
        undefined,
        416,
      );
    }
    await new Promise((done) => setTimeout(done, pause));
  }
}

async function tryClaim(
  ctx: RegistryContext,
  repository: string,
  id: string,
  token: string,
): Promise<{ quota: number | null } | undefined> {
  const [row] = await ctx.db
    .update(registryUploads)
    .set(newClaimValues(token))
    .where(
      and(
        eq(registryUploads.id, id),
        eq(registryUploads.repository, repository),
        or(isNull(registryUploads.claim), lt(registryUploads.claimedUntil, sql`now()`)),
      ),
    )
    .returning({
      quota: sql<string | number | null>`(select ${registryRepositories.storageQuotaBytes}
        from ${registryRepositories} where ${registryRepositories.name} = ${repository})`,
    });
  if (!row) return undefined;
  return { quota: row.quota === null ? null : Number(row.quota) };
}

/** Keeps the claim `token` on `id` renewed until released. */
export function holdClaim(
  ctx: RegistryContext,
  id: string,
  token: string,
  quota: number | null,
): UploadClaim & { release(): Promise<void> } {
  const lost = new AbortController();
  const renew = async () => {
    try {
      const renewed = await ctx.db
        .update(registryUploads)
        .set(newClaimValues(token))
        .where(and(eq(registryUploads.id, id), eq(registryUploads.claim, token)))
        .returning({ id: registryUploads.id });
      if (!renewed.length) lost.abort(new Error("the upload claim was lost"));
    } catch (error) {
      // One missed renewal is not a lost claim; the next one tries again.
      ctx.logger.warn({ err: error, upload: id }, "renewing an upload claim failed");
    }
  };
  const timer = setInterval(() => void renew(), claimRenewMs);
  timer.unref();
  return {
    token,
    signal: lost.signal,
    quota,
    ended: false,
    async release() {
      clearInterval(timer);
      if (this.ended) return;
      // Gone already when the upload was committed or cancelled.
      await ctx.db
        .update(registryUploads)
        .set({ claim: null, claimedUntil: null })
        .where(and(eq(registryUploads.id, id), eq(registryUploads.claim, token)));
    },
  };
}
