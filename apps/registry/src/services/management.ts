import { and, asc, desc, eq, gt, sql } from "drizzle-orm";
import type { RegistryDatabase } from "../db/client.js";
import { registryManifests, registryRepositories, registryTags } from "../db/schema/index.js";
import { deleteManifest } from "./manifests.js";

/** A repository as the api's management routes show it. */
export interface RepositorySummary {
  name: string;
  sizeBytes: number;
  tagCount: number;
  lastPushedAt: string | null;
  immutableTags: boolean;
  anonymousPull: boolean;
  /** Bytes of blobs the repository may hold; null: no quota. */
  storageQuotaBytes: number | null;
  lifecycle: { keepLastTags: number | null; expireUntaggedAfterDays: number | null };
}

export interface TagSummary {
  tag: string;
  digest: string;
  mediaType: string;
  sizeBytes: number;
  pushedAt: string;
}

const r = registryRepositories;
const summaryColumns = {
  name: r.name,
  immutableTags: r.immutableTags,
  anonymousPull: r.anonymousPull,
  storageQuotaBytes: r.storageQuotaBytes,
  keepLastTags: r.keepLastTags,
  expireUntaggedAfterDays: r.expireUntaggedAfterDays,
  lastPushedAt: r.lastPushedAt,
  // Each distinct blob counts once per repository, as it is stored once. Written out in SQL:
  // drizzle leaves columns unqualified inside select fields, and these subqueries need names.
  blobBytes:
    sql<number>`coalesce((select sum(b.size) from registry_blob_links l join registry_blobs b on b.digest = l.digest where l.repository = registry_repositories.name), 0)`.mapWith(
      Number,
    ),
  manifestBytes:
    sql<number>`coalesce((select sum(length(m.content)) from registry_manifests m where m.repository = registry_repositories.name), 0)`.mapWith(
      Number,
    ),
  tagCount:
    sql<number>`(select count(*) from registry_tags t where t.repository = registry_repositories.name)`.mapWith(
      Number,
    ),
};

interface SummaryRow {
  name: string;
  immutableTags: boolean;
  anonymousPull: boolean;
  storageQuotaBytes: number | null;
  keepLastTags: number | null;
  expireUntaggedAfterDays: number | null;
  lastPushedAt: Date | null;
  blobBytes: number;
  manifestBytes: number;
  tagCount: number;
}

function toSummary(row: SummaryRow): RepositorySummary {
  return {
    name: row.name,
    sizeBytes: row.blobBytes + row.manifestBytes,
    tagCount: row.tagCount,
    lastPushedAt: row.lastPushedAt?.toISOString() ?? null,
    immutableTags: row.immutableTags,
    anonymousPull: row.anonymousPull,
    storageQuotaBytes: row.storageQuotaBytes,
    lifecycle: {
      keepLastTags: row.keepLastTags,
      expireUntaggedAfterDays: row.expireUntaggedAfterDays,
    },
  };
}

/** Repositories by name; the cursor is the last name of the previous page. */
export async function listRepositories(
  db: RegistryDatabase,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ repositories: RepositorySummary[]; nextCursor: string | null }> {
  const rows = await db
    .select(summaryColumns)
    .from(r)
    .where(page.cursor ? gt(r.name, page.cursor) : undefined)
    .orderBy(asc(r.name))
    .limit(page.limit + 1);
  const repositories = rows.slice(0, page.limit).map(toSummary);
  return {
    repositories,
    nextCursor: rows.length > page.limit ? (repositories.at(-1)?.name ?? null) : null,
  };
}

export async function getRepository(
  db: RegistryDatabase,
  name: string,
): Promise<RepositorySummary | undefined> {
  const [row] = await db.select(summaryColumns).from(r).where(eq(r.name, name));
  return row ? toSummary(row) : undefined;
}

export interface RepositoryChanges {
  immutableTags?: boolean | undefined;
  anonymousPull?: boolean | undefined;
  storageQuotaBytes?: number | null | undefined;
  lifecycle?:
    | {
        keepLastTags?: number | null | undefined;
        expireUntaggedAfterDays?: number | null | undefined;
      }
    | undefined;
}

/** Changes a repository's settings; undefined when it does not exist. */
export async function updateRepository(
  db: RegistryDatabase,
  name: string,
  changes: RepositoryChanges,
): Promise<RepositorySummary | undefined> {
  const set: Partial<typeof r.$inferInsert> = {};
  if (changes.immutableTags !== undefined) set.immutableTags = changes.immutableTags;
  if (changes.anonymousPull !== undefined) set.anonymousPull = changes.anonymousPull;
  if (changes.storageQuotaBytes !== undefined) set.storageQuotaBytes = changes.storageQuotaBytes;
  if (changes.lifecycle?.keepLastTags !== undefined)
    set.keepLastTags = changes.lifecycle.keepLastTags;
  if (changes.lifecycle?.expireUntaggedAfterDays !== undefined) {
    set.expireUntaggedAfterDays = changes.lifecycle.expireUntaggedAfterDays;
  }
  if (Object.keys(set).length > 0) await db.update(r).set(set).where(eq(r.name, name));
  return getRepository(db, name);
}

/** A repository's tags, newest push first. */
export async function listTags(db: RegistryDatabase, repository: string): Promise<TagSummary[]> {
  const rows = await db
    .select({
      tag: registryTags.tag,
      digest: registryTags.digest,
      mediaType: registryManifests.mediaType,
      sizeBytes: registryManifests.size,
      pushedAt: registryTags.pushedAt,
    })
    .from(registryTags)
    .innerJoin(
      registryManifests,
      and(
        eq(registryManifests.repository, registryTags.repository),
        eq(registryManifests.digest, registryTags.digest),
      ),
    )
    .where(eq(registryTags.repository, repository))
    .orderBy(desc(registryTags.pushedAt), asc(registryTags.tag));
  return rows.map((row) => ({ ...row, pushedAt: row.pushedAt.toISOString() }));
}

/** Deletes a tag or (by digest) a manifest; false when it does not exist. */
export async function deleteReference(
  db: RegistryDatabase,
  repository: string,
  reference: string,
): Promise<boolean> {
  try {
    await deleteManifest(db, repository, reference);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === "MANIFEST_UNKNOWN") return false;
    throw error;
  }
}
