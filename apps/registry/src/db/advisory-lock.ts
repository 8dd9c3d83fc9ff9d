import type { Sql } from "postgres";

/**
 * Runs `work` under a PostgreSQL advisory lock named `key`, across processes. The lock is a
 * session lock held on one reserved connection, so work running on the pool's other
 * connections is still covered until the unlock. Shared with the api's database client.
 */
export async function withAdvisoryLock<T>(
  sql: Sql,
  key: string,
  work: () => Promise<T>,
): Promise<T> {
  const connection = await sql.reserve();
  try {
    await connection`select pg_advisory_lock(hashtext(${key}))`;
    try {
      return await work();
    } finally {
      await connection`select pg_advisory_unlock(hashtext(${key}))`;
    }
  } finally {
    connection.release();
  }
}

/**
 * Runs `work` unless another process holds the advisory lock `key`, and resolves to whether it
 * ran: for periodic passes one replica at a time should make, where the others skip a turn.
 */
export async function withAdvisoryTryLock(
  sql: Sql,
  key: string,
  work: () => Promise<unknown>,
): Promise<boolean> {
  const connection = await sql.reserve();
  try {
    const [row] = await connection<{ taken: boolean }[]>`
      select pg_try_advisory_lock(hashtext(${key})) as taken`;
    if (!row?.taken) return false;
    try {
      await work();
      return true;
    } finally {
      await connection`select pg_advisory_unlock(hashtext(${key}))`;
    }
  } finally {
    connection.release();
  }
}
