import { z } from "zod";

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value?.trim() ? value.trim() : undefined));

/** Every setting of the standalone registry process (`node apps/registry/dist/main.js`). */
export const envSchema = z.object({
  /** PostgreSQL URL, the same database as the api's: tokens and repositories are shared. */
  DATABASE_URL: z.string().min(1),
  /** Connections per registry replica to PostgreSQL. */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /** Redis URL; push events go to its `skiff:events` stream. Unset: no events. */
  REDIS_URL: optionalText,
  /** Prefix of every Redis key, as the api's SKIFF_REDIS_PREFIX (they must agree). */
  SKIFF_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{0,64}$/, "letters, digits, ':', '_' and '-' only")
    .default(""),
  /** Port of the registry. */
  SKIFF_REGISTRY_PORT: z.coerce.number().int().min(0).max(65535).default(5000),
  /** Address to listen on. */
  HOST: z.string().default("0.0.0.0"),
  /** Where blobs and uploads are kept (a volume in compose). */
  SKIFF_REGISTRY_DATA_DIR: z.string().default("./.skiff/registry"),
  /**
   * The api's URL as clients (docker, agents) reach it; the registry sends them to
   * `<this>/v1/registry/token` for tokens.
   */
  SKIFF_API_PUBLIC_URL: z.url().default("http://localhost:3000"),
  /** Blobs a push used within this many seconds are never garbage collected. */
  SKIFF_REGISTRY_GC_GRACE_SECONDS: z.coerce.number().int().min(0).default(3600),
  /** How often garbage collection, lifecycle rules and the stale upload purge run. */
  SKIFF_REGISTRY_MAINTENANCE_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(60),
  /** Uploads untouched this many seconds are dropped. */
  SKIFF_REGISTRY_UPLOAD_MAX_AGE_SECONDS: z.coerce.number().int().min(60).default(86_400),
  /**
   * The largest blob (image layer) a push may upload, in bytes; larger ones are refused with
   * 413 SIZE_INVALID. Default 20 GiB.
   */
  SKIFF_REGISTRY_MAX_BLOB_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(20 * 1024 ** 3),
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
