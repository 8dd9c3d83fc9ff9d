import { eq } from "drizzle-orm";
import type { Queryable } from "../db/client.js";
import { registryRepositories } from "../db/schema/index.js";

export type RepositoryRow = typeof registryRepositories.$inferSelect;

/** Creates the repository on its first push; idempotent. */
export async function ensureRepository(db: Queryable, name: string): Promise<void> {
  await db.insert(registryRepositories).values({ name }).onConflictDoNothing();
}

export async function findRepository(
  db: Queryable,
  name: string,
): Promise<RepositoryRow | undefined> {
  const [row] = await db
    .select()
    .from(registryRepositories)
    .where(eq(registryRepositories.name, name));
  return row;
}
