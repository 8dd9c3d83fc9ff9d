import type { Context } from "hono";
import { z } from "zod";
import type { RegistryContext } from "../context.js";
import { parseDigest } from "../digest.js";
import { RegistryError } from "../errors.js";
import { mediaTypes } from "../manifest.js";
import { listRepositoryNames, listTagNames } from "../services/listing.js";
import { listReferrers } from "../services/manifests.js";
import { findRepository } from "../services/repositories.js";

const pageSchema = z.object({
  n: z.coerce.number().int().min(0).max(10_000).default(1000),
  last: z.string().max(255).optional(),
});

function readPage(c: Context) {
  const page = pageSchema.safeParse({ n: c.req.query("n"), last: c.req.query("last") });
  if (!page.success)
    throw new RegistryError("UNSUPPORTED", "n must be an integer from 0 to 10000", undefined, 400);
  return page.data;
}

function nextLink(path: string, n: number, last: string | undefined): string {
  return `<${path}?n=${n}&last=${encodeURIComponent(last ?? "")}>; rel="next"`;
}

/** `GET /v2/<name>/tags/list` with the spec's `n`/`last` paging and `Link` to the next page. */
export async function getTags(c: Context, ctx: RegistryContext, name: string): Promise<Response> {
  const page = readPage(c);
  const { names, more } =
    page.n === 0 ? { names: [], more: false } : await listTagNames(ctx.db, name, page);
  if (names.length === 0 && !(await findRepository(ctx.db, name))) {
    throw new RegistryError("NAME_UNKNOWN", `repository ${name} is unknown`);
  }
  const headers: Record<string, string> = {};
  if (more) headers.Link = nextLink(`/v2/${name}/tags/list`, page.n, names.at(-1));
  return c.json({ name, tags: names }, 200, headers);
}

export async function getCatalog(c: Context, ctx: RegistryContext): Promise<Response> {
  const page = readPage(c);
  const { names, more } =
    page.n === 0 ? { names: [], more: false } : await listRepositoryNames(ctx.db, page);
  const headers: Record<string, string> = {};
  if (more) headers.Link = nextLink("/v2/_catalog", page.n, names.at(-1));
  return c.json({ repositories: names }, 200, headers);
}

/** The referrers API: an image index of the manifests whose `subject` is the digest. */
export async function getReferrers(
  c: Context,
  ctx: RegistryContext,
  name: string,
  digestText: string,
): Promise<Response> {
  const digest = parseDigest(digestText);
  const artifactType = c.req.query("artifactType");
  const rows = await listReferrers(ctx.db, name, digest.text, artifactType);
  const manifests = rows.map((row) => ({
    mediaType: row.mediaType,
    digest: row.digest,
    size: row.content.length,
    ...(row.artifactType ? { artifactType: row.artifactType } : {}),
    ...(row.annotations
      ? { annotations: JSON.parse(row.annotations) as Record<string, string> }
      : {}),
  }));
  const headers: Record<string, string> = { "Content-Type": mediaTypes.ociIndex };
  if (artifactType) headers["OCI-Filters-Applied"] = "artifactType";
  return c.body(
    JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests }),
    200,
    headers,
  );
}
