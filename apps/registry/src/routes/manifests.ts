import type { Context } from "hono";
import type { RegistryContext } from "../context.js";
import { maxManifestBytes } from "../manifest.js";
import { deleteManifest, findManifest, putManifest } from "../services/manifests.js";
import { readLimited } from "./body.js";

/** GET and HEAD of a manifest by tag or digest, byte for byte as pushed. */
export async function getManifest(
  c: Context,
  ctx: RegistryContext,
  name: string,
  reference: string,
): Promise<Response> {
  const manifest = await findManifest(ctx.db, name, reference);
  const headers = {
    "Content-Type": manifest.mediaType,
    "Docker-Content-Digest": manifest.digest,
    "Content-Length": String(manifest.content.length),
    ETag: `"${manifest.digest}"`,
  };
  if (c.req.method === "HEAD") return new Response(null, { status: 200, headers });
  return new Response(new Uint8Array(manifest.content), { status: 200, headers });
}

export async function putManifestRoute(
  c: Context,
  ctx: RegistryContext,
  name: string,
  reference: string,
): Promise<Response> {
  const bytes = await readLimited(c, maxManifestBytes);
  const { digest, subject } = await putManifest(ctx, {
    repository: name,
    reference,
    tags: c.req.queries("tag") ?? [],
    contentType: c.req.header("content-type"),
    bytes,
  });
  const headers: Record<string, string> = {
    Location: `/v2/${name}/manifests/${digest}`,
    "Docker-Content-Digest": digest,
    "Content-Length": "0",
  };
  if (subject) headers["OCI-Subject"] = subject;
  return c.body(null, 201, headers);
}

export async function deleteManifestRoute(
  c: Context,
  ctx: RegistryContext,
  name: string,
  reference: string,
): Promise<Response> {
  await deleteManifest(ctx.db, name, reference);
  return c.body(null, 202);
}
