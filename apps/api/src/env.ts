import { z } from "zod";

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value?.trim() ? value.trim() : undefined));

/** Every setting of the api process, read once at boot from the environment. */
export const envSchema = z.object({
  /** Port of the REST API (and, later, the dashboard). */
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  /** Address to listen on. */
  HOST: z.string().default("0.0.0.0"),
  /** PostgreSQL URL. Unset: an embedded PGlite database under SKIFF_DATA_DIR. */
  DATABASE_URL: optionalText,
  /** Connections per api replica to PostgreSQL. */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /** Redis URL. Unset: a redis-server from PATH is started with its data under SKIFF_DATA_DIR. */
  REDIS_URL: optionalText,
  /** Where the embedded database and Redis keep their data. */
  SKIFF_DATA_DIR: z.string().default("./.skiff"),
  /**
   * An admin token to accept (stored hashed). When set, no admin token is generated on first
   * start. At least 24 characters.
   */
  SKIFF_ADMIN_TOKEN: optionalText.pipe(
    z.string().min(24, "must be at least 24 characters").optional(),
  ),
  /** Largest request body accepted, in bytes. */
  SKIFF_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** How long a SIGTERM waits for requests in flight before the process exits anyway. */
  SKIFF_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  /** A node whose agent sends no heartbeat for this long goes down; its tasks stop (NodeLost). */
  SKIFF_NODE_DOWN_AFTER_MS: z.coerce.number().int().min(1000).default(15_000),
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; a bad value ends the process with a message naming the variable. */
export function parseEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const result = envSchema.safeParse(source);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  throw new Error(`invalid environment: ${problems.join("; ")}`);
}
