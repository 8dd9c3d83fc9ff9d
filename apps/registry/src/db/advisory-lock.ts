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
