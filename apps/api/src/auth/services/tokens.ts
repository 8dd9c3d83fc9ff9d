import { type CreateToken, newId, type Token, type TokenScope } from "@skiff/shared";
import { and, count, desc, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import { hashSecret, newSecret } from "../../compute/services/credentials.js";
import { type Database, type OpenDatabase, queryRows } from "../../db/client.js";
import { apiTokens } from "../../db/schema/index.js";
import { ApiError, notFound } from "../../lib/errors.js";
import type { Logger } from "../../lib/logger.js";
import { cachedToken, cacheToken, forgetTokens } from "./token-cache.js";

type TokenRow = typeof apiTokens.$inferSelect;

export function toToken(row: TokenRow): Token {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes as TokenScope[],
    prefix: row.prefix,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}

/** Stores a new token and returns it with its secret, which is never retrievable again. */
export async function createToken(
  db: Database,
  input: CreateToken,
  secret: string = newSecret("skf"),
): Promise<Token & { token: string }> {
  const [row] = await db
    .insert(apiTokens)
    .values({
      id: newId("tok"),
      name: input.name,
      scopes: [...new Set(input.scopes)],
      tokenHash: hashSecret(secret),
      // Enough to tell tokens apart, too little to guess the rest.
      prefix: secret.startsWith("skf_") ? secret.slice(0, 10) : secret.slice(0, 4),
      expiresAt: input.expiresAt ? new Date(input.expiresAt) : null,
    })
    .returning();
  if (!row) throw new Error("insert returned no row");
  return { ...toToken(row), token: secret };
}

/** Newest first; the cursor is the id of the last token of the previous page. */
export async function listTokens(
  db: Database,
  page: { limit: number; cursor?: string | undefined },
) {
  const rows = await db
    .select()
    .from(apiTokens)
    .where(page.cursor ? lt(apiTokens.id, page.cursor) : undefined)
    .orderBy(desc(apiTokens.id))
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit).map(toToken);
  const nextCursor = rows.length > page.limit ? (items.at(-1)?.id ?? null) : null;
  return { items, nextCursor };
}

/**
 * Admin tokens that still sign in: unexpired (a deleted token is gone). Expired ones do not count
 * towards "an admin can still manage Skiff".
 */
function usableAdmin(now: Date) {
  return and(
    sql`'admin' = any(${apiTokens.scopes})`,
    or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, now)),
  );
}

/**
 * Revokes a token. The last usable admin token cannot go: nobody could manage Skiff after it.
 * Expired admin tokens do not count, so they never hide that this one is the last.
 */
export async function deleteToken(db: Database, id: string, now: Date = new Date()): Promise<void> {
  await db.transaction(async (tx) => {
    // Serialise deletions so two concurrent ones cannot each leave the other's token the last admin.
    await queryRows(tx, sql`select pg_advisory_xact_lock(hashtext('skiff:tokens:delete'))`);
    const [row] = await tx.select().from(apiTokens).where(eq(apiTokens.id, id));
    if (!row) throw notFound(`token ${id}`);
    const usable = !row.expiresAt || row.expiresAt > now;
    if (row.scopes.includes("admin") && usable) {
      const [admins] = await tx.select({ n: count() }).from(apiTokens).where(usableAdmin(now));
      if ((admins?.n ?? 0) <= 1) {
        throw new ApiError(
          "Conflict",
          "this is the last admin token; create another admin token before deleting it",
        );
      }
    }
    await tx.delete(apiTokens).where(eq(apiTokens.id, id));
  });
  forgetTokens(db);
}

/** The token a secret belongs to, when it exists and has not expired. */
export async function findValidToken(
  db: Database,
  secret: string,
  now: Date,
): Promise<TokenRow | undefined> {
  const hash = hashSecret(secret);
  const cached = cachedToken(db, hash, now);
  if (cached) return cached;
  const [row] = await db
    .select()
    .from(apiTokens)
    .where(
      and(
        eq(apiTokens.tokenHash, hash),
        or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, now)),
      ),
    );
  if (row) cacheToken(db, hash, row, now);
  return row;
}

/**
 * Notes a token's use, at most once a minute, so busy tokens do not write on every request. The
 * request does not wait for it: the write's commit (a WAL flush) cost a request 20-30 ms.
 */
export function touchToken(db: Database, row: TokenRow, now: Date, logger: Logger): void {
  if (row.lastUsedAt && now.getTime() - row.lastUsedAt.getTime() < 60_000) return;
  // The row may be the cached one: noted here too, the next requests do not write again.
  row.lastUsedAt = now;
  db.update(apiTokens)
    .set({ lastUsedAt: now })
    .where(eq(apiTokens.id, row.id))
    .catch((error: unknown) => logger.warn({ err: error, tokenId: row.id }, "token use not noted"));
}

/**
 * Makes sure an admin can sign in. With `configured` (SKIFF_ADMIN_TOKEN) that token is stored
 * (hashed) if it is not yet. Otherwise, when no usable admin token is left (a first start, or
 * every admin token expired) a new one is created and its secret returned for the caller to
 * print once. Replicas starting together create at most one.
 */
export async function ensureAdminToken(
  database: OpenDatabase,
  configured?: string,
  now: Date = new Date(),
): Promise<string | undefined> {
  const { db } = database;
  return database.withLock("skiff:admin-token", async () => {
    if (configured) {
      const [existing] = await db
        .select()
        .from(apiTokens)
        .where(eq(apiTokens.tokenHash, hashSecret(configured)));
      if (!existing)
        await createToken(db, { name: "admin (SKIFF_ADMIN_TOKEN)", scopes: ["admin"] }, configured);
      return undefined;
    }
    const [admins] = await db.select({ n: count() }).from(apiTokens).where(usableAdmin(now));
    if ((admins?.n ?? 0) > 0) return undefined;
    const created = await createToken(db, { name: "admin (first start)", scopes: ["admin"] });
    return created.token;
  });
}

/** Whether the token with this id still signs in (not deleted, not expired). */
export async function isTokenUsable(db: Database, id: string, now: Date): Promise<boolean> {
  const [row] = await db
    .select({ id: apiTokens.id })
    .from(apiTokens)
    .where(
      and(eq(apiTokens.id, id), or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, now))),
    );
  return row !== undefined;
}
