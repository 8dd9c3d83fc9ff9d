import { z } from "zod";
import type { BlobStoreConfig } from "./storage/create-store.js";
import { safePrefix, safePrefixRule } from "./storage/s3-keys.js";

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value?.trim() ? value.trim() : undefined));

const flag = optionalText.pipe(z.stringbool().optional());

/**
 * Where the registry keeps blobs: read by the standalone registry and by the api when it runs
 * the registry in its own process (its env.ts spreads these in). Secrets here are never logged.
 */
export const registryStorageEnv = {
  /** `fs`: blobs under SKIFF_REGISTRY_DATA_DIR; `s3`: in an S3-compatible bucket replicas share. */
  SKIFF_REGISTRY_STORAGE: z.enum(["fs", "s3"]).default("fs"),
  /** The bucket (must exist) when SKIFF_REGISTRY_STORAGE=s3. */
  SKIFF_REGISTRY_S3_BUCKET: optionalText,
  /** The S3 service's URL, e.g. `http://minio:9000`; AWS's endpoint for the region when unset. */
  SKIFF_REGISTRY_S3_ENDPOINT: optionalText.pipe(z.url().optional()),
  /**
   * The S3 service's URL as pulling clients (docker, nodes) reach it, for redirects, when it is
   * not SKIFF_REGISTRY_S3_ENDPOINT (a compose service name, say); presigned URLs name this host.
   */
  SKIFF_REGISTRY_S3_PUBLIC_ENDPOINT: optionalText.pipe(z.url().optional()),
  /** AWS region; MinIO, Ceph and Garage take any name (us-east-1 is what they expect). */
  SKIFF_REGISTRY_S3_REGION: z.string().trim().min(1).default("us-east-1"),
  /** Access key; with the secret below. Both unset: the SDK's chain (AWS_* variables, roles). */
  SKIFF_REGISTRY_S3_ACCESS_KEY_ID: optionalText,
  /** Secret key for SKIFF_REGISTRY_S3_ACCESS_KEY_ID. */
  SKIFF_REGISTRY_S3_SECRET_ACCESS_KEY: optionalText,
  /** `true`: path-style URLs (`<endpoint>/<bucket>/<key>`), as MinIO, Ceph and Garage want. */
  SKIFF_REGISTRY_S3_FORCE_PATH_STYLE: flag,
  /** Prepended to every key, e.g. `registry/`, to share a bucket; letters, digits, `._/-`. */
  SKIFF_REGISTRY_S3_PREFIX: z.string().regex(safePrefix, safePrefixRule).default(""),
  /**
   * How blobs are pulled from S3: `redirect` answers a blob GET with 307 to a presigned URL (the
   * client downloads from S3, which it must reach); `stream` sends the bytes through the registry.
   */
  SKIFF_REGISTRY_S3_PULL: z.enum(["redirect", "stream"]).default("redirect"),
};

type StorageEnv = z.infer<z.ZodObject<typeof registryStorageEnv>>;

/** The store `env` names, blobs under `dataDir` for `fs`; throws naming a missing variable. */
export function blobStoreConfig(env: StorageEnv, dataDir: string): BlobStoreConfig {
  if (env.SKIFF_REGISTRY_STORAGE === "fs") return { kind: "fs", dataDir };
  if (!env.SKIFF_REGISTRY_S3_BUCKET) {
    throw new Error("SKIFF_REGISTRY_S3_BUCKET: required when SKIFF_REGISTRY_STORAGE=s3");
  }
  if (!env.SKIFF_REGISTRY_S3_ACCESS_KEY_ID !== !env.SKIFF_REGISTRY_S3_SECRET_ACCESS_KEY) {
    throw new Error(
      "SKIFF_REGISTRY_S3_ACCESS_KEY_ID and SKIFF_REGISTRY_S3_SECRET_ACCESS_KEY: set both or neither",
    );
  }
  return {
    kind: "s3",
    bucket: env.SKIFF_REGISTRY_S3_BUCKET,
    region: env.SKIFF_REGISTRY_S3_REGION,
    forcePathStyle: env.SKIFF_REGISTRY_S3_FORCE_PATH_STYLE ?? false,
    prefix: env.SKIFF_REGISTRY_S3_PREFIX,
    pull: env.SKIFF_REGISTRY_S3_PULL,
    ...(env.SKIFF_REGISTRY_S3_ENDPOINT ? { endpoint: env.SKIFF_REGISTRY_S3_ENDPOINT } : {}),
    ...(env.SKIFF_REGISTRY_S3_PUBLIC_ENDPOINT
      ? { publicEndpoint: env.SKIFF_REGISTRY_S3_PUBLIC_ENDPOINT }
      : {}),
    ...(env.SKIFF_REGISTRY_S3_ACCESS_KEY_ID && env.SKIFF_REGISTRY_S3_SECRET_ACCESS_KEY
      ? {
          accessKeyId: env.SKIFF_REGISTRY_S3_ACCESS_KEY_ID,
          secretAccessKey: env.SKIFF_REGISTRY_S3_SECRET_ACCESS_KEY,
        }
      : {}),
  };
}

const needsPostgres =
  "required: a registry process of its own shares the api's PostgreSQL (the embedded PGlite database lives inside the api's process); without PostgreSQL, use the api's built-in registry (SKIFF_REGISTRY_PORT)";

/** Every setting of the standalone registry process (`node apps/registry/dist/main.js`). */
export const envSchema = z.object({
  /**
   * PostgreSQL URL, the same database as the api's: tokens and repositories are shared. Required:
   * the embedded PGlite database lives inside the api's process and no other process can open it.
   */
  DATABASE_URL: z.string({ error: needsPostgres }).trim().min(1, needsPostgres),
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
  /** Where blobs and uploads are kept (a volume in compose) when SKIFF_REGISTRY_STORAGE=fs. */
  SKIFF_REGISTRY_DATA_DIR: z.string().default("./.skiff/registry"),
  ...registryStorageEnv,
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
