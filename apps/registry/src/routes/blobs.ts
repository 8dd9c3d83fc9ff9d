import { ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { Context } from "hono";
import type { RegistryContext } from "../context.js";
import { parseDigest } from "../digest.js";
import { RegistryError } from "../errors.js";
import { findLinkedBlob, touchBlobs, unlinkBlob } from "../services/blobs.js";
import { parseRange } from "./body.js";

/**
 * GET and HEAD of a blob, whole or a `Range` of it, streamed from the store or, when the store
 * can, a redirect to where the client downloads it.
 */
export async function getBlob(
  c: Context,
  ctx: RegistryContext,
  name: string,
  digestText: string,
): Promise<Response> {
  const digest = parseDigest(digestText);
  const blob = await findLinkedBlob(ctx.db, name, digest.text);
  if (!blob) throw new RegistryError("BLOB_UNKNOWN", `blob ${digest.text} is unknown in ${name}`);
  const headers: Record<string, string> = {
    "Docker-Content-Digest": digest.text,
    "Content-Type": "application/octet-stream",
    "Accept-Ranges": "bytes",
    ETag: `"${digest.text}"`,
    "Cache-Control": "max-age=31536000",
  };
  const range = parseRange(c.req.header("range"), blob.size);
  const length = range ? range.end - range.start + 1 : blob.size;
  headers["Content-Length"] = String(length);
  if (range) headers["Content-Range"] = `bytes ${range.start}-${range.end}/${blob.size}`;
  const status = range ? 206 : 200;
  if (c.req.method === "HEAD") {
    // Clients check for a layer before pushing it: the touch keeps the collector off it until
    // the manifest that names it arrives.
    await touchBlobs(ctx.db, [digest.text]);
    return new Response(null, { status, headers });
  }
  // The client downloads from the store itself; its Range goes along with the redirect.
  const redirect = await ctx.store.downloadUrl?.(digest.text);
  if (redirect) {
    return new Response(null, {
      status: 307,
      headers: { Location: redirect, "Docker-Content-Digest": digest.text, "Content-Length": "0" },
    });
  }
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (outgoing && outgoing instanceof ServerResponse) {
    // Straight from the file to the socket: a web stream in between costs more than the copy.
    outgoing.writeHead(status, { ...headers, "Docker-Distribution-API-Version": "registry/2.0" });
    const bytes = range ?? { start: 0, end: blob.size - 1 };
    const sent = ctx.store.send
      ? ctx.store.send(digest.text, outgoing, bytes)
      : pipeline(ctx.store.read(digest.text, range), outgoing);
    sent.catch(() => {
      // The client went away mid-download (or the file did): nothing to answer any more.
      outgoing.destroy();
    });
    return RESPONSE_ALREADY_SENT;
  }
  const stream = ctx.store.read(digest.text, range);
  return new Response(Readable.toWeb(stream) as ReadableStream, { status, headers });
}

/** Removes a blob from a repository; its bytes go when no repository uses them any more. */
export async function deleteBlob(
  c: Context,
  ctx: RegistryContext,
  name: string,
  digestText: string,
): Promise<Response> {
  const digest = parseDigest(digestText);
  if (!(await unlinkBlob(ctx.db, name, digest.text))) {
    throw new RegistryError("BLOB_UNKNOWN", `blob ${digest.text} is unknown in ${name}`);
  }
  return c.body(null, 202, { "Docker-Content-Digest": digest.text });
}
