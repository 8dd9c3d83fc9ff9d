import { and, desc, eq, isNotNull, isNull, lt, notExists, or, sql } from "drizzle-orm";
import type { Queryable, RegistryDatabase } from "../db/client.js";
import {
  registryManifestReferences,
  registryManifests,
  registryRepositories,
  registryTags,
} from "../db/schema/index.js";
import { deleteManifest } from "./manifests.js";

/** Manifests of a repository that no tag names and no index of it lists. */
function orphanManifests(db: Queryable, repository: string) {
  return and(
    eq(registryManifests.repository, repository),
    notExists(
      db
        .select({ one: sql`1` })
        .from(registryTags)
        .where(
          and(
            eq(registryTags.repository, registryManifests.repository),
            eq(registryTags.digest, registryManifests.digest),
          ),
        ),
    ),
    notExists(
      db
        .select({ one: sql`1` })
        .from(registryManifestReferences)
        .where(
          and(
            eq(registryManifestReferences.repository, registryManifests.repository),
            eq(registryManifestReferences.digest, registryManifests.digest),
          ),
        ),
    ),
  );
}

/**
 * Applies every repository's lifecycle rules, ECR style: tags past the newest `keepLastTags`
 * expire, and so do their manifests once no tag or index names them; manifests without a tag
 * pushed more than `expireUntaggedAfterDays` ago are deleted. Artifacts attached to an image
 * (those with a `subject`) follow their image, not the untagged rule. The collector frees the
 * blobs later. Returns how many tags and manifests went.
 */
export async function applyLifecycleRules(db: RegistryDatabase): Promise<number> {
  let removed = 0;
  const repositories = await db
    .select()
    .from(registryRepositories)
    .where(
      or(
        isNotNull(registryRepositories.keepLastTags),
        isNotNull(registryRepositories.expireUntaggedAfterDays),
      ),
    );
  for (const repository of repositories) {
    if (repository.keepLastTags !== null) {
      const expired = await db
        .select({ tag: registryTags.tag, digest: registryTags.digest })
        .from(registryTags)
        .where(eq(registryTags.repository, repository.name))
        .orderBy(desc(registryTags.pushedAt), desc(registryTags.tag))
        .offset(repository.keepLastTags);
      for (const { tag, digest } of expired) {
        await deleteManifest(db, repository.name, tag).catch(() => {});
        removed++;
        const [orphan] = await db
          .select({ digest: registryManifests.digest })
          .from(registryManifests)
          .where(and(orphanManifests(db, repository.name), eq(registryManifests.digest, digest)));
        if (orphan) {
          await deleteManifest(db, repository.name, digest).catch(() => {});
          removed++;
        }
      }
    }
    const days = repository.expireUntaggedAfterDays;
    if (days === null) continue;
    const untagged = await db
      .select({ digest: registryManifests.digest })
      .from(registryManifests)
      .where(
        and(
          orphanManifests(db, repository.name),
          isNull(registryManifests.subject),
          lt(registryManifests.pushedAt, sql`now() - ${days} * interval '1 day'`),
        ),
      );
    for (const { digest } of untagged) {
      await deleteManifest(db, repository.name, digest).catch(() => {});
      removed++;
    }
  }
  return removed;
}
