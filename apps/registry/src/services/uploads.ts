import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { RegistryContext } from "../context.js";
import type { Queryable } from "../db/client.js";
import { queryRows } from "../db/rows.js";
import {
  registryBlobLinks,
  registryBlobs,
  registryRepositories,
  registryUploads,
} from "../db/schema/index.js";
import { type Digest, newHash, parseDigest } from "../digest.js";
import { RegistryError } from "../errors.js";
import { collectYoungGarbage } from "../young-garbage.js";
import { claimUpload, holdClaim, newClaimValues, type UploadClaim } from "./upload-claims.js";

export interface Upload {
  id: string;
  repository: string;
  size: number;
}

/** A claimed upload session: what a writing request works on. */
export interface ClaimedUpload {
  upload: Upload;
  claim: UploadClaim;
}

/**
 * Opens an upload session in `repository`, claimed by the caller (a monolithic POST writes to
 * it at once); `release` ends the claim.
 */
export async function startUpload(
  ctx: RegistryContext,
  repository: string,
): Promise<ClaimedUpload & { release(): Promise<void> }> {
  const id = randomUUID().replaceAll("-", "");
  const token = randomUUID();
  await ctx.store.createUpload(id);
  const [row] = await ctx.db
    .insert(registryUploads)
    .values({ id, repository, ...newClaimValues(token) })
    .returning({
      quota: sql<string | number | null>`(select ${registryRepositories.storageQuotaBytes}
        from ${registryRepositories} where ${registryRepositories.name} = ${repository})`,
    });
  const quota = row?.quota === null || row?.quota === undefined ? null : Number(row.quota);
  const claim = holdClaim(ctx, id, token, quota);
  ctx.uploadHashes.set(id, { hash: newHash("sha256"), size: 0 });
  return { upload: { id, repository, size: 0 }, claim, release: () => claim.release() };
}

/** The upload, which must belong to `repository`; BLOB_UPLOAD_UNKNOWN otherwise. */
export async function findUpload(
  ctx: RegistryContext,
  repository: string,
  id: string,
): Promise<Upload> {
  const [row] = /^[a-f0-9]{32}$/.test(id)
    ? await ctx.db
        .select()
        .from(registryUploads)
        .where(and(eq(registryUploads.id, id), eq(registryUploads.repository, repository)))
    : [];
  const size = row ? await ctx.store.uploadSize(id) : undefined;
  if (!row || size === undefined) {
    throw new RegistryError("BLOB_UPLOAD_UNKNOWN", `upload ${id.slice(0, 100)} is unknown`);
  }
  return { id, repository, size };
}

/**
 * Runs `work` on the session `id` while holding its claim: one writing request at a time per
 * session, across replicas (a second one is refused with 416 BLOB_UPLOAD_INVALID).
 */
export async function withClaimedUpload<T>(
  ctx: RegistryContext,
  repository: string,
  id: string,
  work: (claimed: ClaimedUpload) => Promise<T>,
): Promise<T> {
  const claim = await claimUpload(ctx, repository, id);
  try {
    const size = await ctx.store.uploadSize(id);
    if (size === undefined) {
      throw new RegistryError("BLOB_UPLOAD_UNKNOWN", `upload ${id.slice(0, 100)} is unknown`);
    }
    return await work({ upload: { id, repository, size }, claim });
  } finally {
    await claim.release();
  }
}

export interface ChunkOptions {
  /** Where the client says the chunk begins (Content-Range). */
  start?: number | undefined;
  /** The chunk's Content-Length, when the client sent one. */
  length?: number | undefined;
}

/**
 * Appends a chunk to a claimed upload. `start` must be the current end, else 416 and nothing is
 * written. The blob may not outgrow the registry's maximum blob size (413 SIZE_INVALID) nor the
 * repository's storage quota (403 DENIED); a chunk that would is refused whole.
 */
export async function appendChunk(
  ctx: RegistryContext,
  { upload, claim }: ClaimedUpload,
  body: Readable,
  options: ChunkOptions = {},
): Promise<Upload> {
  if (options.start !== undefined && options.start !== upload.size) {
    body.resume();
    throw new RegistryError(
      "RANGE_INVALID",
      `the chunk starts at ${options.start} but the upload holds ${upload.size} bytes`,
      { size: upload.size },
      416,
    );
  }
  const allowance = await allowanceOf(ctx, upload, claim);
  if (options.length !== undefined && options.length > allowance.bytes) {
    throw allowance.refusal();
  }
  let running = ctx.uploadHashes.get(upload.id);
  // The upload grew through another replica: this running hash no longer covers it.
  if (running && running.size !== upload.size) {
    ctx.uploadHashes.delete(upload.id);
    running = undefined;
  }
  let written = 0;
  const stop = () => body.destroy(claim.signal.reason as Error);
  claim.signal.addEventListener("abort", stop);
  let size: number;
  try {
    size = await ctx.store.appendUpload(upload.id, body, (chunk) => {
      written += chunk.length;
      if (written > allowance.bytes) throw allowance.refusal();
      // Only bytes the store has written, in order, at the offsets they were written at: what
      // is committed is exactly what was hashed.
      running?.hash.update(chunk);
      collectYoungGarbage(chunk.length);
    });
  } catch (error) {
    // The store dropped the partial chunk but the running hash has seen it: hash again at commit.
    // What failed (a cut connection, a full disk) goes to the log; the client learns no paths.
    ctx.uploadHashes.delete(upload.id);
    if (error instanceof RegistryError) throw error;
    ctx.logger.warn(
      { err: error, upload: upload.id, repository: upload.repository },
      "an upload chunk failed",
    );
    throw new RegistryError("BLOB_UPLOAD_INVALID", "the chunk could not be stored; send it again");
  } finally {
    claim.signal.removeEventListener("abort", stop);
  }
  if (running && size === upload.size + written) {
    running.size = size;
    // Again, with a fresh idle timer: a long chunk may have outlived the entry.
    ctx.uploadHashes.set(upload.id, running);
  } else {
    ctx.uploadHashes.delete(upload.id);
  }
  await ctx.db
    .update(registryUploads)
    .set({ size, updatedAt: sql`now()` })
    .where(eq(registryUploads.id, upload.id));
  return { ...upload, size };
}

/** How many more bytes `upload` may take, and the error for more. */
async function allowanceOf(
  ctx: RegistryContext,
  upload: Upload,
  claim: UploadClaim,
): Promise<{ bytes: number; refusal: () => RegistryError }> {
  const bySize = ctx.maxBlobBytes - upload.size;
  const sizeRefusal = () =>
    new RegistryError(
      "SIZE_INVALID",
      `a blob may hold at most ${ctx.maxBlobBytes} bytes`,
      { limit: ctx.maxBlobBytes },
      413,
    );
  if (claim.quota === null) return { bytes: bySize, refusal: sizeRefusal };
  const byQuota = claim.quota - (await repositoryUsage(ctx.db, upload.repository)) - upload.size;
  if (byQuota >= bySize) return { bytes: bySize, refusal: sizeRefusal };
  return { bytes: byQuota, refusal: () => quotaRefusal(upload.repository, claim.quota ?? 0) };
}

function quotaRefusal(repository: string, quota: number): RegistryError {
  return new RegistryError(
    "DENIED",
    `the blob would take ${repository} over its storage quota of ${quota} bytes`,
    { quota },
  );
}

/** Bytes of the blobs `repository` links (what its storage quota counts). */
export async function repositoryUsage(db: Queryable, repository: string): Promise<number> {
  const [row] = await queryRows<{ used: string | number }>(
    db,
    sql`select coalesce(sum(${registryBlobs.size}), 0) as used
      from ${registryBlobLinks} join ${registryBlobs}
        on ${registryBlobs.digest} = ${registryBlobLinks.digest}
      where ${registryBlobLinks.repository} = ${repository}`,
  );
  return Number(row?.used ?? 0);
}

async function digestUpload(
  ctx: RegistryContext,
  upload: Upload,
  expected: Digest,
): Promise<string> {
  const running = ctx.uploadHashes.get(upload.id);
  if (expected.algorithm === "sha256" && running && running.size === upload.size) {
    return `sha256:${running.hash.digest("hex")}`;
  }
  const hash = newHash(expected.algorithm);
  await pipeline(ctx.store.readUpload(upload.id), hash);
  return `${expected.algorithm}:${hash.digest("hex")}`;
}

/**
 * Ends a claimed upload: the bytes must hash to `digestText`, else DIGEST_INVALID and the
 * upload is dropped (nothing stored). The blob row is written, locked, before the file is moved
 * into place, so a collector pass deleting the same digest either finishes first or waits; the
 * session row is deleted only while this request's claim holds, so a request that lost its
 * claim commits nothing.
 */
export async function completeUpload(
  ctx: RegistryContext,
  { upload, claim }: ClaimedUpload,
  digestText: string,
): Promise<string> {
  const expected = parseDigest(digestText);
  if (claim.quota !== null) {
    const used = await repositoryUsage(ctx.db, upload.repository);
    if (used + upload.size > claim.quota) {
      await cancelUpload(ctx, upload.id);
      throw quotaRefusal(upload.repository, claim.quota);
    }
  }
  const actual = await digestUpload(ctx, upload, expected);
  ctx.uploadHashes.delete(upload.id);
  if (actual !== expected.text) {
    await cancelUpload(ctx, upload.id);
    throw new RegistryError(
      "DIGEST_INVALID",
      `the uploaded content has digest ${actual}, not ${expected.text}`,
    );
  }
  await ctx.db.transaction(async (tx) => {
    if (!(await recordBlob(tx, upload, expected.text, claim.token))) {
      throw new RegistryError(
        "BLOB_UPLOAD_INVALID",
        "the upload was taken over by another request; ask for its status",
        undefined,
        416,
      );
    }
    await ctx.store.commitUpload(upload.id, expected.text);
  });
  claim.ended = true;
  return expected.text;
}

/**
 * In one statement (each round trip counts in a push): the end of the upload session, if this
 * request still holds its claim, and only then the repository (created or marked pushed), the
 * blob (inserted or touched, its row locked until the transaction ends) and the repository's
 * link to it. Returns whether the session was still claimed.
 */
async function recordBlob(
  tx: Queryable,
  upload: Upload,
  digest: string,
  claim: string,
): Promise<boolean> {
  const [row] = await queryRows<{ claimed: number | string }>(
    tx,
    sql`
    with session as (
      delete from ${registryUploads} where id = ${upload.id} and claim = ${claim}
      returning id
    ), repository as (
      insert into ${registryRepositories} (name, last_pushed_at)
      select ${upload.repository}, now() from session
      on conflict (name) do update set last_pushed_at = now()
      returning name
    ), blob as (
      insert into ${registryBlobs} (digest, size) select ${digest}, ${upload.size} from session
      on conflict (digest) do update set touched_at = now()
      returning digest
    ), link as (
      insert into ${registryBlobLinks} (repository, digest)
      select repository.name, blob.digest from repository, blob
      on conflict do nothing
    )
    select count(*) as claimed from session`,
  );
  return Number(row?.claimed ?? 0) > 0;
}

export async function cancelUpload(ctx: RegistryContext, id: string): Promise<void> {
  ctx.uploadHashes.delete(id);
  await ctx.store.deleteUpload(id);
  await ctx.db.delete(registryUploads).where(eq(registryUploads.id, id));
}

/** Drops uploads untouched for `maxAgeMs` (clients that went away), rows and bytes. */
export async function purgeStaleUploads(ctx: RegistryContext, maxAgeMs: number): Promise<number> {
  const before = new Date(Date.now() - maxAgeMs);
  const rows = await ctx.db
    .delete(registryUploads)
    .where(
      and(
        lt(registryUploads.updatedAt, before),
        // A request still streaming renews its claim: its session is not stale.
        or(isNull(registryUploads.claimedUntil), lt(registryUploads.claimedUntil, sql`now()`)),
      ),
    )
    .returning({ id: registryUploads.id });
  const ids = new Set(rows.map((row) => row.id));
  // Files whose row is gone too (a crash between the two writes).
  for (const id of await ctx.store.listStaleUploads(before)) ids.add(id);
  for (const id of ids) {
    ctx.uploadHashes.delete(id);
    await ctx.store.deleteUpload(id);
  }
  return ids.size;
}
