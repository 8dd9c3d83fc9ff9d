import { type CreatePool, type JoinToken, newId, type Page, type Pool } from "@skiff/shared";
import { and, asc, eq, gt, sql } from "drizzle-orm";
import type { Database } from "../../db/client.js";
import { nodes, poolJoinTokens, pools } from "../../db/schema/index.js";
import { conflict, notFound } from "../../lib/errors.js";
import { hashSecret, newSecret } from "./secrets.js";

export async function createPool(db: Database, input: CreatePool): Promise<Pool> {
  const [row] = await db
    .insert(pools)
    .values({ name: input.name })
    .onConflictDoNothing()
    .returning();
  if (!row) throw conflict(`pool ${input.name} already exists`);
  return {
    name: row.name,
    createdAt: row.createdAt.toISOString(),
    nodes: { active: 0, draining: 0, down: 0 },
  };
}

/** By name; the cursor is the name of the last pool of the previous page. */
export async function listPools(
  db: Database,
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<Pool>> {
  const rows = await db
    .select({
      name: pools.name,
      createdAt: pools.createdAt,
      active: sql<number>`count(${nodes.id}) filter (where ${nodes.state} = 'active')::int`,
      draining: sql<number>`count(${nodes.id}) filter (where ${nodes.state} = 'draining')::int`,
      down: sql<number>`count(${nodes.id}) filter (where ${nodes.state} = 'down')::int`,
    })
    .from(pools)
    .leftJoin(nodes, eq(nodes.pool, pools.name))
    .where(page.cursor ? gt(pools.name, page.cursor) : undefined)
    .groupBy(pools.name, pools.createdAt)
    .orderBy(asc(pools.name))
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit).map((row) => ({
    name: row.name,
    createdAt: row.createdAt.toISOString(),
    nodes: { active: row.active, draining: row.draining, down: row.down },
  }));
  return { items, nextCursor: rows.length > page.limit ? (items.at(-1)?.name ?? null) : null };
}

export async function ensurePoolExists(db: Database, name: string): Promise<void> {
  const [row] = await db.select({ name: pools.name }).from(pools).where(eq(pools.name, name));
  if (!row) throw notFound(`pool ${name}`);
}

/** A token agents join `pool` with until it expires; only its hash is stored. */
export async function createJoinToken(
  db: Database,
  pool: string,
  ttlSeconds: number,
  now: Date,
): Promise<JoinToken> {
  await ensurePoolExists(db, pool);
  const token = newSecret("skj");
  const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
  await db
    .insert(poolJoinTokens)
    .values({ id: newId("tok"), pool, tokenHash: hashSecret(token), expiresAt });
  return { token, pool, expiresAt: expiresAt.toISOString() };
}

/** The pool a join token admits to, when the token is known and not expired. */
export async function findPoolByJoinToken(
  db: Database,
  token: string,
  now: Date,
): Promise<string | undefined> {
  const [row] = await db
    .select({ pool: poolJoinTokens.pool })
    .from(poolJoinTokens)
    .where(and(eq(poolJoinTokens.tokenHash, hashSecret(token)), gt(poolJoinTokens.expiresAt, now)));
  return row?.pool;
}
