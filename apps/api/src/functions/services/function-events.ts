import type { AsyncInvocation, DeadLetter, Page } from "@skiff/shared";
import { and, desc, eq, lt, or } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import type { Database } from "../../db/client.js";
import { ApiError, notFound } from "../../lib/errors.js";
import { functionDeadLetters, functionInvocations } from "../schema/functions.js";
import type { FunctionRuntimeConfig } from "./function-config.js";

// Event (async) invocations as users look at them: their status, and the dead letters of the
// ones that failed every attempt. Newest first; a cursor is `<time ms>.<id>` of the last item.

function parseCursor(cursor: string | undefined): { at: Date; id: string } | undefined {
  if (!cursor) return undefined;
  const match = /^(\d{1,15})\.(.{1,128})$/.exec(cursor);
  if (!match?.[1] || !match[2])
    throw new ApiError("ValidationError", "invalid query: cursor: not a cursor of this list");
  return { at: new Date(Number(match[1])), id: match[2] };
}

/** Rows after the cursor, newest first by `time` then `id`: what both lists page over. */
function olderThan(time: PgColumn, id: PgColumn, after: { at: Date; id: string } | undefined) {
  return after ? or(lt(time, after.at), and(eq(time, after.at), lt(id, after.id))) : undefined;
}

/** The first `limit` rows as a page, with the cursor of the next when there are more. */
function pageOf<Row, Item>(
  rows: Row[],
  limit: number,
  toItem: (row: Row) => Item,
  cursorOf: (row: Row) => { at: Date; id: string },
): Page<Item> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  const next = rows.length > limit && last ? cursorOf(last) : undefined;
  return {
    items: items.map(toItem),
    nextCursor: next ? `${next.at.getTime()}.${next.id}` : null,
  };
}

export async function listInvocations(
  db: Database,
  functionId: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<AsyncInvocation>> {
  const table = functionInvocations;
  const rows = await db
    .select()
    .from(table)
    .where(
      and(
        eq(table.functionId, functionId),
        olderThan(table.enqueuedAt, table.requestId, parseCursor(page.cursor)),
      ),
    )
    .orderBy(desc(table.enqueuedAt), desc(table.requestId))
    .limit(page.limit + 1);
  return pageOf(
    rows,
    page.limit,
    (row) => ({
      requestId: row.requestId,
      status: row.status,
      attempts: row.attempts,
      error: row.error,
      enqueuedAt: row.enqueuedAt.toISOString(),
      finishedAt: row.finishedAt?.toISOString() ?? null,
    }),
    (row) => ({ at: row.enqueuedAt, id: row.requestId }),
  );
}

type DeadLetterRow = typeof functionDeadLetters.$inferSelect;

const toDeadLetter = (row: DeadLetterRow): DeadLetter => ({
  id: row.id,
  requestId: row.requestId,
  payload: row.payload,
  error: row.error,
  errorType: row.errorType,
  attempts: row.attempts,
  enqueuedAt: row.enqueuedAt.toISOString(),
  failedAt: row.failedAt.toISOString(),
});

export async function listDeadLetters(
  db: Database,
  functionId: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<DeadLetter>> {
  const table = functionDeadLetters;
  const rows = await db
    .select()
    .from(table)
    .where(
      and(
        eq(table.functionId, functionId),
        olderThan(table.failedAt, table.id, parseCursor(page.cursor)),
      ),
    )
    .orderBy(desc(table.failedAt), desc(table.id))
    .limit(page.limit + 1);
  return pageOf(rows, page.limit, toDeadLetter, (row) => ({ at: row.failedAt, id: row.id }));
}

/** Queues an Event invocation (branch invoke's `enqueueEvent`, bound to its runtime). */
export type EnqueueEvent = (
  fn: FunctionRuntimeConfig,
  payload: Buffer,
  options?: { requestId?: string },
) => Promise<{ requestId: string }>;

/**
 * Sends a dead letter's event again, under its request id, and removes the dead letter. The row
 * is locked while the event is queued: two redrives of one letter queue it once (the second
 * finds it gone), and a failed enqueue leaves the letter in place.
 */
export async function redriveDeadLetter(
  db: Database,
  fn: FunctionRuntimeConfig,
  id: string,
  enqueue: EnqueueEvent,
): Promise<{ requestId: string }> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(functionDeadLetters)
      .where(and(eq(functionDeadLetters.id, id), eq(functionDeadLetters.functionId, fn.id)))
      .for("update");
    if (!row) throw notFound(`dead letter ${id} of function ${fn.name}`);
    const queued = await enqueue(fn, Buffer.from(row.payload, "utf8"), {
      requestId: row.requestId,
    });
    await tx.delete(functionDeadLetters).where(eq(functionDeadLetters.id, id));
    return queued;
  });
}
