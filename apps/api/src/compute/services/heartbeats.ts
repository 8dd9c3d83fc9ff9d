import { sql } from "drizzle-orm";
import type { Redis } from "ioredis";
import { type Database, queryRows } from "../../db/client.js";

/**
 * Node id → the time of its last heartbeat (ms). A heartbeat writes here, not to its node's row:
 * 1,000 nodes beat 200 times a second, and an UPDATE each would cost a commit and wait on the
 * row locks placement holds. The node monitor copies the hash into the rows (one statement)
 * before it looks for silent nodes, so the rows lag by at most its tick. A deregistered node's
 * field stays behind, a few bytes, and updates nothing.
 */
const lastSeenKey = "skiff:heartbeats";

export async function noteHeartbeat(redis: Redis, nodeId: string, now: Date): Promise<void> {
  await redis.hset(lastSeenKey, nodeId, now.getTime());
}

/**
 * Brings every node row's `last_heartbeat_at` up to the latest heartbeat noted. Rows a placement
 * holds are skipped (their time is copied next tick): waiting for them, in no set order, could
 * deadlock with a placement locking the pool's nodes in id order.
 */
export async function flushHeartbeats(db: Database, redis: Redis): Promise<void> {
  const seen = Object.entries(await redis.hgetall(lastSeenKey));
  if (seen.length === 0) return;
  const rows = seen.map(([id, ms]) => sql`(${id}::text, ${Number(ms)}::double precision)`);
  await queryRows(
    db,
    sql`
    with seen (id, ms) as (values ${sql.join(rows, sql`, `)}),
    stale as (
      select nodes.id from nodes join seen on seen.id = nodes.id
      where nodes.last_heartbeat_at is null or nodes.last_heartbeat_at < to_timestamp(seen.ms / 1000)
      for update of nodes skip locked
    )
    update nodes set last_heartbeat_at = to_timestamp(seen.ms / 1000)
    from seen join stale on stale.id = seen.id
    where nodes.id = seen.id`,
  );
}
