import {
  type CreatePool,
  type JoinToken,
  type JoinTokenInfo,
  newId,
  type Page,
  type Pool,
} from "@skiff/shared";
import { and, asc, desc, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import type { Database, Transaction } from "../../db/client.js";
import { nodes, poolJoinTokens, pools } from "../../db/schema/index.js";
import { ApiError, conflict, notFound } from "../../lib/errors.js";
import { hashSecret, newSecret } from "./credentials.js";

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

type JoinTokenRow = typeof poolJoinTokens.$inferSelect;

/**
 * A token agents join `pool` with until it expires, is revoked or has admitted `maxUses` nodes
 * (null: any number); only its hash is stored.
 */
export async function createJoinToken(
  db: Database,
  pool: string,
  ttlSeconds: number,
  now: Date,
  maxUses: number | null = null,
): Promise<JoinToken> {
  await ensurePoolExists(db, pool);
  const token = newSecret("skj");
  const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
  const id = newId("tok");
  await db.insert(poolJoinTokens).values({
    id,
    pool,
    tokenHash: hashSecret(token),
    expiresAt,
    maxUses,
    // Enough to tell tokens apart, too little to guess the rest.
    prefix: token.slice(0, 10),
  });
  return { id, token, pool, expiresAt: expiresAt.toISOString(), maxUses };
}

function joinTokenState(row: JoinTokenRow, now: Date): JoinTokenInfo["state"] {
  if (row.revokedAt) return "revoked";
  if (row.maxUses !== null && row.uses >= row.maxUses) return "used-up";
  if (row.expiresAt <= now) return "expired";
  return "active";
}

function toJoinTokenInfo(row: JoinTokenRow, now: Date): JoinTokenInfo {
  return {
    id: row.id,
    pool: row.pool,
    prefix: row.prefix,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    maxUses: row.maxUses,
    uses: row.uses,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    state: joinTokenState(row, now),
  };
}

/** A pool's join tokens, newest first, without their secrets. */
export async function listJoinTokens(
  db: Database,
  pool: string,
  now: Date,
): Promise<JoinTokenInfo[]> {
  await ensurePoolExists(db, pool);
  const rows = await db
    .select()
    .from(poolJoinTokens)
    .where(eq(poolJoinTokens.pool, pool))
    .orderBy(desc(poolJoinTokens.createdAt), desc(poolJoinTokens.id));
  return rows.map((row) => toJoinTokenInfo(row, now));
}

/** No agent joins with the token from now on; nodes that joined with it stay. Idempotent. */
export async function revokeJoinToken(
  db: Database,
  pool: string,
  id: string,
  now: Date,
): Promise<void> {
  const [row] = await db
    .update(poolJoinTokens)
    .set({
      revokedAt: sql`coalesce(${poolJoinTokens.revokedAt}, ${now.toISOString()}::timestamptz)`,
    })
    .where(and(eq(poolJoinTokens.pool, pool), eq(poolJoinTokens.id, id)))
    .returning({ id: poolJoinTokens.id });
  if (!row) throw notFound(`join token ${id} of pool ${pool}`);
}

/**
 * Spends one use of a join token and answers the pool it admits to. The check and the count are
 * one UPDATE, so two agents racing for the last use cannot both get it: the row lock makes the
 * second re-read `uses` and miss. Throws Unauthorized (unknown, expired, revoked) or Forbidden
 * (used up), with a message saying which.
 */
export async function useJoinToken(
  db: Database | Transaction,
  token: string,
  now: Date,
): Promise<string> {
  const hash = hashSecret(token);
  const [spent] = await db
    .update(poolJoinTokens)
    .set({ uses: sql`${poolJoinTokens.uses} + 1` })
    .where(
      and(
        eq(poolJoinTokens.tokenHash, hash),
        gt(poolJoinTokens.expiresAt, now),
        isNull(poolJoinTokens.revokedAt),
        or(isNull(poolJoinTokens.maxUses), lt(poolJoinTokens.uses, poolJoinTokens.maxUses)),
      ),
    )
    .returning({ pool: poolJoinTokens.pool });
  if (spent) return spent.pool;
  const [row] = await db.select().from(poolJoinTokens).where(eq(poolJoinTokens.tokenHash, hash));
  const state = row ? joinTokenState(row, now) : undefined;
  if (state === "revoked")
    throw new ApiError("Unauthorized", "the join token was revoked; ask an admin for a new one");
  if (state === "used-up")
    throw new ApiError(
      "Forbidden",
      `the join token was already used by ${row?.maxUses} node(s), its limit; ask an admin for a new one`,
    );
  throw new ApiError("Unauthorized", "the join token is invalid or expired");
}
