import {
  type ApiKey,
  type CreateApiKey,
  type CreatedApiKey,
  newId,
  type UpdateApiKey,
} from "@skiff/shared";
import { desc, eq, lt, sql } from "drizzle-orm";
import type { Database } from "../../../db/client.js";
import { conflict, notFound } from "../../../lib/errors.js";
import { apiKeys } from "../schema/api-keys.js";
import { apiKeyPrefix, hashApiKey, newApiKeyValue } from "./key-values.js";

type ApiKeyRow = typeof apiKeys.$inferSelect;

/** A key as answers show it: the value (and its hash) never leaves this module. */
export function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    enabled: row.enabled,
    prefix: row.prefix,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Stores a key hashed and answers its value, this once; Conflict when the value is taken. */
export async function createApiKey(db: Database, input: CreateApiKey): Promise<CreatedApiKey> {
  const value = input.value ?? newApiKeyValue();
  const [row] = await db
    .insert(apiKeys)
    .values({
      id: newId("key"),
      name: input.name,
      enabled: input.enabled ?? true,
      keyHash: hashApiKey(value),
      prefix: apiKeyPrefix(value),
    })
    .onConflictDoNothing({ target: apiKeys.keyHash })
    .returning();
  if (!row)
    throw conflict("another API key has this value; choose another or let Skiff generate one");
  return { ...toApiKey(row), value };
}

/** Newest first; the cursor is the id of the last key of the previous page. */
export async function listApiKeys(
  db: Database,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ items: ApiKey[]; nextCursor: string | null }> {
  const rows = await db
    .select()
    .from(apiKeys)
    .where(page.cursor ? lt(apiKeys.id, page.cursor) : undefined)
    .orderBy(desc(apiKeys.id))
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit).map(toApiKey);
  const nextCursor = rows.length > page.limit ? (items.at(-1)?.id ?? null) : null;
  return { items, nextCursor };
}

export async function getApiKey(db: Database, id: string): Promise<ApiKey> {
  const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, id));
  if (!row) throw notFound(`API key ${id}`);
  return toApiKey(row);
}

export async function updateApiKey(db: Database, id: string, input: UpdateApiKey): Promise<ApiKey> {
  const [row] = await db
    .update(apiKeys)
    .set({
      ...(input.name === undefined ? {} : { name: input.name }),
      ...(input.enabled === undefined ? {} : { enabled: input.enabled }),
      updatedAt: sql`now()`,
    })
    .where(eq(apiKeys.id, id))
    .returning();
  if (!row) throw notFound(`API key ${id}`);
  return toApiKey(row);
}

/** Deletes a key and its attachments to plans (cascade). */
export async function deleteApiKey(db: Database, id: string): Promise<void> {
  const rows = await db.delete(apiKeys).where(eq(apiKeys.id, id)).returning({ id: apiKeys.id });
  if (rows.length === 0) throw notFound(`API key ${id}`);
}
