import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { and, eq, lt, sql } from "drizzle-orm";
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

export interface Upload {
  id: string;
  repository: string;
  size: number;
}

/** Opens an upload session in `repository`. */
export async function startUpload(ctx: RegistryContext, repository: string): Promise<Upload> {
  const id = randomUUID().replaceAll("-", "");
  await ctx.store.createUpload(id);
  await ctx.db.insert(registryUploads).values({ id, repository });
  ctx.uploadHashes.set(id, { hash: newHash("sha256"), size: 0 });
  return { id, repository, size: 0 };
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
 * Appends a chunk. `start` is where the client says the chunk begins (Content-Range): it must be
 * the current end, else 416 and nothing is written.
 */
export async function appendChunk(
  ctx: RegistryContext,
  upload: Upload,
  body: Readable,
  start?: number,
): Promise<Upload> {
  if (start !== undefined && start !== upload.size) {
    body.resume();
    throw new RegistryError(
      "RANGE_INVALID",
      `the chunk starts at ${start} but the upload holds ${upload.size} bytes`,
      { size: upload.size },
      416,
    );
  }
  let running = ctx.uploadHashes.get(upload.id);
  // A chunk handled by another replica broke the running hash; commit will read the file again.
  if (running && running.size !== upload.size) {
    ctx.uploadHashes.delete(upload.id);
    running = undefined;
  }
  const hash = running?.hash;
  let size: number;
  try {
    size = await ctx.store.appendUpload(upload.id, body, (chunk) => {
      hash?.update(chunk);
      collectYoungGarbage(chunk.length);
    });
  } catch (error) {
    // The store dropped the partial chunk but the running hash has seen it: hash again at commit.
    ctx.uploadHashes.delete(upload.id);
    throw new RegistryError("BLOB_UPLOAD_INVALID", "the chunk was cut short; send it again", {
      cause: (error as Error).message,
    });
  }
  if (running) running.size = size;
  await ctx.db
    .update(registryUploads)
    .set({ size, updatedAt: sql`now()` })
    .where(eq(registryUploads.id, upload.id));
  return { ...upload, size };
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
 * Ends an upload: the bytes must hash to `digestText`, else DIGEST_INVALID and the upload is
 * dropped (nothing stored). The blob row is written, locked, before the file is moved into
 * place, so a collector pass deleting the same digest either finishes first or waits.
 */
export async function completeUpload(
  ctx: RegistryContext,
  upload: Upload,
  digestText: string,
): Promise<string> {
  const expected = parseDigest(digestText);
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
    await recordBlob(tx, upload, expected.text);
    await ctx.store.commitUpload(upload.id, expected.text);
  });
  return expected.text;
}

/**
 * In one statement (each round trip counts in a push): the repository (created or marked
 * pushed), the blob (inserted or touched, its row locked until the transaction ends), the
 * repository's link to it, and the end of the upload session.
 */
async function recordBlob(tx: Queryable, upload: Upload, digest: string): Promise<void> {
  await queryRows(
    tx,
    sql`
    with repository as (
      insert into ${registryRepositories} (name, last_pushed_at) values (${upload.repository}, now())
      on conflict (name) do update set last_pushed_at = now()
      returning name
    ), blob as (
      insert into ${registryBlobs} (digest, size) values (${digest}, ${upload.size})
      on conflict (digest) do update set touched_at = now()
      returning digest
    ), session as (
      delete from ${registryUploads} where id = ${upload.id}
    )
    insert into ${registryBlobLinks} (repository, digest)
    select repository.name, blob.digest from repository, blob
    on conflict do nothing`,
  );
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
    .where(lt(registryUploads.updatedAt, before))
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
