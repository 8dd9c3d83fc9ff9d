import { and, asc, eq, gt } from "drizzle-orm";
import type { Queryable } from "../db/client.js";
import { registryRepositories, registryTags } from "../db/schema/index.js";

/** Tag names of a repository in lexical order, `n` at a time after `last` (the spec's paging). */
export async function listTagNames(
  db: Queryable,
  repository: string,
  page: { n: number; last?: string | undefined },
): Promise<{ names: string[]; more: boolean }> {
  const rows = await db
    .select({ tag: registryTags.tag })
    .from(registryTags)
    .where(
      and(
        eq(registryTags.repository, repository),
        page.last ? gt(registryTags.tag, page.last) : undefined,
      ),
    )
    .orderBy(asc(registryTags.tag))
    .limit(page.n + 1);
  return { names: rows.slice(0, page.n).map((row) => row.tag), more: rows.length > page.n };
}

/** Repository names in lexical order, paged like tags. */
export async function listRepositoryNames(
  db: Queryable,
  page: { n: number; last?: string | undefined },
): Promise<{ names: string[]; more: boolean }> {
  const rows = await db
    .select({ name: registryRepositories.name })
    .from(registryRepositories)
    .where(page.last ? gt(registryRepositories.name, page.last) : undefined)
    .orderBy(asc(registryRepositories.name))
    .limit(page.n + 1);
  return { names: rows.slice(0, page.n).map((row) => row.name), more: rows.length > page.n };
}
