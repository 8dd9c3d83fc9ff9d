import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { PushEvent, RegistryContext } from "../context.js";
import type { Queryable, RegistryDatabase } from "../db/client.js";
import {
  registryBlobLinks,
  registryManifestReferences,
  registryManifests,
  registryTags,
} from "../db/schema/index.js";
import { digestOf, parseDigest } from "../digest.js";
import { RegistryError } from "../errors.js";
import { parseManifest } from "../manifest.js";
import { assertTag } from "../names.js";
import { touchBlobs } from "./blobs.js";
import { ensureRepository, findRepository, markPushed } from "./repositories.js";

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
 * Stores a manifest and its tags. Every blob it names must be in the repository, every manifest
 * an index names too (MANIFEST_BLOB_UNKNOWN, nothing stored). The named blobs are touched inside
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

  await ctx.db.transaction(async (tx) => {
    await ensureRepository(tx, input.repository);
    const linked = blobDigests.length
      ? await tx
          .select({ digest: registryBlobLinks.digest })
          .from(registryBlobLinks)
          .where(
            and(
              eq(registryBlobLinks.repository, input.repository),
              inArray(registryBlobLinks.digest, blobDigests),
            ),
          )
      : [];
    const present = await touchBlobs(
      tx,
      linked.map((row) => row.digest),
    );
    const missing = blobDigests.filter((blob) => !present.has(blob));
    if (childDigests.length) {
      const children = await tx
        .select({ digest: registryManifests.digest })
        .from(registryManifests)
        .where(
          and(
            eq(registryManifests.repository, input.repository),
            inArray(registryManifests.digest, childDigests),
          ),
        );
      const found = new Set(children.map((row) => row.digest));
      missing.push(...childDigests.filter((child) => !found.has(child)));
    }
    if (missing.length) {
      throw new RegistryError(
        "MANIFEST_BLOB_UNKNOWN",
        `the manifest references ${missing.length} blob(s) not in ${input.repository}`,
        { digests: missing },
      );
    }
    const repository = await findRepository(tx, input.repository);
    if (repository?.immutableTags && tags.length) {
      const existing = await tx
        .select()
        .from(registryTags)
        .where(and(eq(registryTags.repository, input.repository), inArray(registryTags.tag, tags)));
      const moved = existing.find((row) => row.digest !== digest);
      if (moved) {
        throw new RegistryError(
          "DENIED",
          `tag ${moved.tag} is immutable in ${input.repository} and already names ${moved.digest}`,
        );
      }
    }
    const size =
      input.bytes.length +
      parsed.blobs.reduce((sum, blob) => sum + blob.size, 0) +
      parsed.children.reduce((sum, child) => sum + child.size, 0);
    await tx
      .insert(registryManifests)
      .values({
        repository: input.repository,
        digest,
        mediaType: parsed.mediaType,
        size,
        content: input.bytes,
        subject: parsed.subject,
        artifactType: parsed.artifactType,
        annotations: parsed.annotations ? JSON.stringify(parsed.annotations) : null,
      })
      .onConflictDoUpdate({
        target: [registryManifests.repository, registryManifests.digest],
        set: { pushedAt: sql`now()` },
      });
    const references = [
      ...blobDigests.map((blob) => ({ digest: blob, kind: "blob" as const })),
      ...childDigests.map((child) => ({ digest: child, kind: "manifest" as const })),
    ];
    if (references.length) {
      await tx
        .insert(registryManifestReferences)
        .values(
          references.map((ref) => ({ repository: input.repository, manifest: digest, ...ref })),
        )
        .onConflictDoNothing();
    }
    for (const tag of tags) {
      await tx
        .insert(registryTags)
        .values({ repository: input.repository, tag, digest })
        .onConflictDoUpdate({
          target: [registryTags.repository, registryTags.tag],
          set: { digest, pushedAt: sql`now()` },
        });
    }
    await markPushed(tx, input.repository);
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
