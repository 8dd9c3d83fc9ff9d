import type { ReservedSql, Sql } from "postgres";

/**
 * Runs `work` under a PostgreSQL advisory lock named `key`, across processes. The lock is a
 * session lock held on one reserved connection, so work running on the pool's other
 * connections is still covered until the unlock. Shared with the api's database client.
 */
export function withAdvisoryLock<T>(sql: Sql, key: string, work: () => Promise<T>): Promise<T> {
  return onOneConnection(sql, async (connection) => {
    await connection`select pg_advisory_lock(hashtext(${key}))`;
    return unlockingAfter(connection, key, work);
  });
}

/**
 * Runs `work` unless another process holds the advisory lock `key`, and resolves to whether it
 * ran: for periodic passes one replica at a time should make, where the others skip a turn.
 */
export function withAdvisoryTryLock(
  sql: Sql,
  key: string,
  work: () => Promise<unknown>,
): Promise<boolean> {
  return onOneConnection(sql, async (connection) => {
    const [row] = await connection<{ taken: boolean }[]>`
      select pg_try_advisory_lock(hashtext(${key})) as taken`;
    if (!row?.taken) return false;
    await unlockingAfter(connection, key, work);
    return true;
  });
}

/** A session lock lives on its connection: take it, use it and unlock it on the same one. */
async function onOneConnection<T>(sql: Sql, use: (connection: ReservedSql) => Promise<T>) {
  const connection = await sql.reserve();
  try {
    return await use(connection);
  } finally {
    connection.release();
  }
}

async function unlockingAfter<T>(connection: ReservedSql, key: string, work: () => Promise<T>) {
  try {
    return await work();
  } finally {
    await connection`select pg_advisory_unlock(hashtext(${key}))`;
  }
}
