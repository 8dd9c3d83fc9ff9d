import type { Database } from "../../db/client.js";
import type { apiTokens } from "../../db/schema/index.js";

type TokenRow = typeof apiTokens.$inferSelect;

/**
 * Valid tokens this api process checked in the last few seconds, so a busy caller (an invoke
 * loop, the gateway) does not cost a PostgreSQL read per request. A token deleted through this
 * process is forgotten at once; through another replica, it stops working within `ttlMs`.
 */
const ttlMs = 5_000;
const maxEntries = 10_000;
const caches = new WeakMap<Database, Map<string, { row: TokenRow; until: number }>>();

function cacheOf(db: Database) {
  let cache = caches.get(db);
  if (!cache) {
    cache = new Map();
    caches.set(db, cache);
  }
  return cache;
}

export function cachedToken(db: Database, hash: string, now: Date): TokenRow | undefined {
  const cache = cacheOf(db);
  const entry = cache.get(hash);
  if (!entry) return undefined;
  if (entry.until > now.getTime()) return entry.row;
  cache.delete(hash);
  return undefined;
}

export function cacheToken(db: Database, hash: string, row: TokenRow, now: Date): void {
  const cache = cacheOf(db);
  // Oldest first out: a Map iterates in insertion order.
  if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
  const expires = row.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  cache.set(hash, { row, until: Math.min(now.getTime() + ttlMs, expires) });
}

export function forgetTokens(db: Database): void {
  caches.get(db)?.clear();
}
