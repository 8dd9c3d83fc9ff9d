import type { Context } from "hono";
import type { RegistryContext } from "../context.js";
import { parseDigest } from "../digest.js";
import { RegistryError } from "../errors.js";
import { isValidName } from "../names.js";
import { findLinkedBlob, linkBlob, touchBlobs } from "../services/blobs.js";
import { ensureRepository } from "../services/repositories.js";
import {
  appendChunk,
  type ChunkOptions,
  cancelUpload,
  completeUpload,
  findUpload,
  startUpload,
  type Upload,
  withClaimedUpload,
} from "../services/uploads.js";
import { bodyStream, parseContentRange } from "./body.js";

function uploadHeaders(upload: Upload): Record<string, string> {
  return {
    Location: `/v2/${upload.repository}/blobs/uploads/${upload.id}`,
    "Docker-Upload-UUID": upload.id,
    // The spec's Range is inclusive; an empty upload reports 0-0 as the reference registry does.
    Range: `0-${Math.max(0, upload.size - 1)}`,
    "Content-Length": "0",
  };
}

function blobCreated(c: Context, name: string, digest: string): Response {
  return c.body(null, 201, {
    Location: `/v2/${name}/blobs/${digest}`,
    "Docker-Content-Digest": digest,
    "Content-Length": "0",
  });
}

/**
 * POST: a cross-repository mount (`mount`, `from`), a monolithic upload (`digest` with the
 * body), or a new upload session (202 with its Location). `canPull(from)` says whether the
 * caller may read the source repository of a mount.
 */
export async function postUpload(
  c: Context,
  ctx: RegistryContext,
  name: string,
  canPull: (repository: string) => Promise<boolean>,
): Promise<Response> {
  const mount = c.req.query("mount");
  const from = c.req.query("from");
  if (mount && from && isValidName(from) && (await canPull(from))) {
    const digest = parseDigest(mount);
    const mounted = await ctx.db.transaction(async (tx) => {
      if (!(await findLinkedBlob(tx, from, digest.text))) return false;
      if (!(await touchBlobs(tx, [digest.text])).has(digest.text)) return false;
      await ensureRepository(tx, name);
      await linkBlob(tx, name, digest.text);
      return true;
    });
    if (mounted) return blobCreated(c, name, digest.text);
    // Not mountable: the spec's fallback is a plain upload session.
  }
  const digest = c.req.query("digest");
  if (digest) parseDigest(digest);
  // The repository is recorded when a blob lands in it, not when an upload opens.
  const started = await startUpload(ctx, name);
  try {
    if (!digest) return c.body(null, 202, uploadHeaders(started.upload));
    try {
      const filled = await appendChunk(ctx, started, bodyStream(c), chunkOptions(c, false));
      return blobCreated(
        c,
        name,
        await completeUpload(ctx, { ...started, upload: filled }, digest),
      );
    } catch (error) {
      // The client never learnt of this session: nothing of it may stay behind.
      await cancelUpload(ctx, started.upload.id);
      throw error;
    }
  } finally {
    await started.release();
  }
}

/** Content-Range and Content-Length of a chunk. */
function chunkOptions(c: Context, ranged: boolean): ChunkOptions {
  const length = c.req.header("content-length");
  return {
    start: ranged ? parseContentRange(c.req.header("content-range")) : undefined,
    length: length && /^\d+$/.test(length) ? Number(length) : undefined,
  };
}

/** PATCH: a chunk (with Content-Range) or a streamed rest of the blob (without). */
export async function patchUpload(
  c: Context,
  ctx: RegistryContext,
  name: string,
  id: string,
): Promise<Response> {
  const options = chunkOptions(c, true);
  const filled = await withClaimedUpload(ctx, name, id, (claimed) =>
    appendChunk(ctx, claimed, bodyStream(c), options),
  );
  return c.body(null, 202, uploadHeaders(filled));
}

/** PUT `?digest=`: the last chunk (optional body) and the end of the upload. */
export async function putUpload(
  c: Context,
  ctx: RegistryContext,
  name: string,
  id: string,
): Promise<Response> {
  const digest = c.req.query("digest");
  if (!digest) throw new RegistryError("DIGEST_INVALID", "closing an upload needs ?digest=");
  parseDigest(digest);
  const options = chunkOptions(c, true);
  const committed = await withClaimedUpload(ctx, name, id, async (claimed) => {
    let upload = claimed.upload;
    if (options.length !== 0) upload = await appendChunk(ctx, claimed, bodyStream(c), options);
    return completeUpload(ctx, { ...claimed, upload }, digest);
  });
  return blobCreated(c, name, committed);
}

export async function getUploadStatus(
  c: Context,
  ctx: RegistryContext,
  name: string,
  id: string,
): Promise<Response> {
  return c.body(null, 204, uploadHeaders(await findUpload(ctx, name, id)));
}

export async function deleteUpload(
  c: Context,
  ctx: RegistryContext,
  name: string,
  id: string,
): Promise<Response> {
  await withClaimedUpload(ctx, name, id, async ({ claim }) => {
    await cancelUpload(ctx, id);
    claim.ended = true;
  });
  return c.body(null, 204);
}
