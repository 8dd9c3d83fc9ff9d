import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { PushEvent, RegistryContext } from "../context.js";
import type { Queryable, RegistryDatabase } from "../db/client.js";
import { queryRows } from "../db/rows.js";
import {
  registryBlobLinks,
  registryBlobs,
  registryManifestReferences,
  registryManifests,
  registryRepositories,
  registryTags,
} from "../db/schema/index.js";
import { digestOf, parseDigest } from "../digest.js";
import { RegistryError } from "../errors.js";
import { parseManifest } from "../manifest.js";
import { assertTag } from "../names.js";

export type ManifestRow = typeof registryManifests.$inferSelect;

/** A manifest by tag or digest, or MANIFEST_UNKNOWN. */
export async function findManifest(
  db: Queryable,
  repository: string,
  reference: string,
): Promise<ManifestRow> {
  if (!reference.includes(":")) {
    assertTag(reference);
    // One query, not the tag then its manifest: a pull starts with this and waits on it.
    const [tagged] = await db
      .select({ manifest: registryManifests })
      .from(registryTags)
      .innerJoin(
        registryManifests,
        and(
          eq(registryManifests.repository, registryTags.repository),
          eq(registryManifests.digest, registryTags.digest),
        ),
      )
      .where(and(eq(registryTags.repository, repository), eq(registryTags.tag, reference)));
    if (!tagged)
      throw new RegistryError("MANIFEST_UNKNOWN", `tag ${reference} is unknown in ${repository}`);
    return tagged.manifest;
  }
  parseDigest(reference);
  const [row] = await db
    .select()
    .from(registryManifests)
    .where(
      and(eq(registryManifests.repository, repository), eq(registryManifests.digest, reference)),
    );
  if (!row)
    throw new RegistryError(
      "MANIFEST_UNKNOWN",
      `manifest ${reference} is unknown in ${repository}`,
    );
  return row;
}

export interface PutManifest {
  repository: string;
  /** A tag or the manifest's digest. */
  reference: string;
  /** More tags (`?tag=` on a PUT by digest). */
  tags: string[];
  contentType: string | undefined;
  bytes: Buffer;
}

/**
 * Stores a manifest and its tags. Every blob an image manifest names must be in the repository
 * (MANIFEST_BLOB_UNKNOWN, nothing stored); the manifests an index names need not be: the spec
 * allows sparse indexes (a partial mirror, children pushed after their index). The named blobs are touched inside
 * the transaction, which orders this push against the collector.
 */
export async function putManifest(
  ctx: RegistryContext,
  input: PutManifest,
): Promise<{ digest: string; subject: string | null }> {
  const byDigest = input.reference.includes(":");
  const algorithm = byDigest ? parseDigest(input.reference).algorithm : "sha256";
  const digest = digestOf(input.bytes, algorithm);
  if (byDigest && digest !== input.reference) {
    throw new RegistryError(
      "DIGEST_INVALID",
      `the manifest has digest ${digest}, not ${input.reference}`,
    );
  }
  const tags = [...new Set([...(byDigest ? [] : [input.reference]), ...input.tags])];
  for (const tag of tags) assertTag(tag);
  const parsed = parseManifest(input.bytes, input.contentType);
  const blobDigests = [...new Set(parsed.blobs.map((blob) => blob.digest))];
  const childDigests = [...new Set(parsed.children.map((child) => child.digest))];

  const size =
    input.bytes.length +
    parsed.blobs.reduce((sum, blob) => sum + blob.size, 0) +
    parsed.children.reduce((sum, child) => sum + child.size, 0);
  const references = [
    ...blobDigests.map((blob) => ({ digest: blob, kind: "blob" })),
    ...childDigests.map((child) => ({ digest: child, kind: "manifest" })),
  ];

  await ctx.db.transaction(async (tx) => {
    const found = await touchReferences(tx, input.repository, blobDigests, tags);
    const missing = blobDigests.filter((ref) => !found.present.has(ref));
    if (missing.length) {
      throw new RegistryError(
        "MANIFEST_BLOB_UNKNOWN",
        `the manifest references ${missing.length} blob(s) not in ${input.repository}`,
        { digests: missing },
      );
    }
    const moved = found.tagged.find((row) => row.digest !== digest);
    if (found.immutableTags && moved) {
      throw new RegistryError(
        "DENIED",
        `tag ${moved.tag} is immutable in ${input.repository} and already names ${moved.digest}`,
      );
    }
    // The manifest, what it names and its tags, in one statement.
    await queryRows(
      tx,
      sql`
      with manifest as (
        insert into ${registryManifests}
          (repository, digest, media_type, size, content, subject, artifact_type, annotations)
        values (${input.repository}, ${digest}, ${parsed.mediaType}, ${size}, ${input.bytes},
          ${parsed.subject}, ${parsed.artifactType},
          ${parsed.annotations ? JSON.stringify(parsed.annotations) : null})
        on conflict (repository, digest) do update set pushed_at = now()
      ), named as (
        insert into ${registryManifestReferences} (repository, manifest, digest, kind)
        select ${input.repository}, ${digest}, ref.digest, ref.kind
        from json_to_recordset(${JSON.stringify(references)}::json) as ref(digest text, kind text)
        on conflict do nothing
      )
      insert into ${registryTags} (repository, tag, digest)
      select ${input.repository}, tag.value, ${digest}
      from json_array_elements_text(${JSON.stringify(tags)}::json) as tag
      on conflict (repository, tag) do update set digest = excluded.digest, pushed_at = now()`,
    );
  });

  const pushedAt = new Date().toISOString();
  for (const tag of tags.length ? tags : [null]) {
    await emit(ctx, {
      repository: input.repository,
      tag,
      digest,
      mediaType: parsed.mediaType,
      pushedAt,
    });
  }
  return { digest, subject: parsed.subject };
}

/**
 * In one statement (each round trip counts in a push): creates the repository or marks it
 * pushed, touches the blobs the manifest names that the repository links (their row locks,
 * held to the end of the transaction, order this push against the collector), and reads the
 * tags about to be set.
 */
async function touchReferences(
  tx: Queryable,
  repository: string,
  blobDigests: string[],
  tags: string[],
): Promise<{
  present: Set<string>;
  immutableTags: boolean;
  tagged: { tag: string; digest: string }[];
}> {
  const [row] = await queryRows<{
    immutableTags: boolean;
    present: string[];
    tagged: { tag: string; digest: string }[];
  }>(
    tx,
    sql`
    with repository as (
      insert into ${registryRepositories} (name, last_pushed_at) values (${repository}, now())
      on conflict (name) do update set last_pushed_at = now()
      returning immutable_tags
    ), touched as (
      update ${registryBlobs} set touched_at = now()
      where ${inArray(registryBlobs.digest, blobDigests)} and digest in (
        select digest from ${registryBlobLinks} where repository = ${repository})
      returning digest
    )
    select
      (select immutable_tags from repository) as "immutableTags",
      array(select digest from touched) as "present",
      coalesce((
        select json_agg(json_build_object('tag', tag, 'digest', digest)) from ${registryTags}
        where repository = ${repository} and ${inArray(registryTags.tag, tags)}
      ), '[]') as "tagged"`,
  );
  if (!row) throw new Error("the repository upsert returned no row");
  return { present: new Set(row.present), immutableTags: row.immutableTags, tagged: row.tagged };
}

async function emit(ctx: RegistryContext, event: PushEvent): Promise<void> {
  try {
    await ctx.onPush?.(event);
  } catch (error) {
    ctx.logger.error({ err: error, event }, "the push event hook failed; the push is stored");
  }
}

/**
 * Deletes a manifest by digest (with the tags naming it), or only a tag. Blobs it named stay
 * until the collector finds them unused.
 */
export async function deleteManifest(
  database: RegistryDatabase,
  repository: string,
  reference: string,
): Promise<void> {
  await database.transaction((tx) => deleteManifestIn(tx, repository, reference));
}

async function deleteManifestIn(db: Queryable, repository: string, reference: string) {
  if (!reference.includes(":")) {
    assertTag(reference);
    const deleted = await db
      .delete(registryTags)
      .where(and(eq(registryTags.repository, repository), eq(registryTags.tag, reference)))
      .returning({ tag: registryTags.tag });
    if (!deleted.length)
      throw new RegistryError("MANIFEST_UNKNOWN", `tag ${reference} is unknown in ${repository}`);
    return;
  }
  parseDigest(reference);
  const deleted = await db
    .delete(registryManifests)
    .where(
      and(eq(registryManifests.repository, repository), eq(registryManifests.digest, reference)),
    )
    .returning({ digest: registryManifests.digest });
  if (!deleted.length)
    throw new RegistryError(
      "MANIFEST_UNKNOWN",
      `manifest ${reference} is unknown in ${repository}`,
    );
  await db
    .delete(registryTags)
    .where(and(eq(registryTags.repository, repository), eq(registryTags.digest, reference)));
  await db
    .delete(registryManifestReferences)
    .where(
      and(
        eq(registryManifestReferences.repository, repository),
        eq(registryManifestReferences.manifest, reference),
      ),
    );
}

/** Manifests whose `subject` is `digest`, newest first, optionally of one artifact type. */
export async function listReferrers(
  db: Queryable,
  repository: string,
  digest: string,
  artifactType?: string,
): Promise<ManifestRow[]> {
  return db
    .select()
    .from(registryManifests)
    .where(
      and(
        eq(registryManifests.repository, repository),
        eq(registryManifests.subject, digest),
        artifactType ? eq(registryManifests.artifactType, artifactType) : undefined,
      ),
    )
    .orderBy(desc(registryManifests.pushedAt));
}
