import { parseEgressDeny } from "@skiff/agent";
import { registryStorageEnv } from "@skiff/registry";
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
  /**
   * PostgreSQL URL. Unset: an embedded PGlite database under SKIFF_DATA_DIR, which serves this one
   * process: a second start on the same directory is refused, and a gateway or registry process
   * of its own, or several api replicas, need PostgreSQL.
   */
  DATABASE_URL: optionalText,
  /** Connections per api replica to PostgreSQL. */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /**
   * Redis URL. Unset: a redis-server from PATH is started with its data under SKIFF_DATA_DIR, and
   * restarted on the same port with that data if it dies.
   */
  REDIS_URL: optionalText,
  /**
   * Prefix of every Redis key and pub/sub channel, so several Skiff installs (or test runs) can
   * share one Redis without reading each other's data or waking each other's loops.
   */
  SKIFF_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{0,64}$/, "letters, digits, ':', '_' and '-' only")
    .default(""),
  /** Where the embedded database and Redis keep their data. */
  SKIFF_DATA_DIR: z.string().default("./.skiff"),
  /**
   * An admin token to accept (stored hashed). When set, no admin token is generated on first
   * start. At least 24 characters.
   */
  SKIFF_ADMIN_TOKEN: optionalText.pipe(
    z.string().min(24, "must be at least 24 characters").optional(),
  ),
  /**
   * Key of secrets' values at rest (AES-256-GCM): base64 of 32 bytes (`openssl rand -base64 32`).
   * Unset: a key generated at first boot in SKIFF_DATA_DIR/secrets.key (mode 0600), never in the
   * database. Several api replicas (PostgreSQL) must all have the same key: set it on each.
   */
  SKIFF_SECRETS_KEY: optionalText.pipe(
    z
      .string()
      .refine(
        (text) => /^[A-Za-z0-9+/]+={0,2}$/.test(text) && Buffer.from(text, "base64").length === 32,
        "must be the base64 of 32 bytes (openssl rand -base64 32)",
      )
      .transform((text) => Buffer.from(text, "base64"))
      .optional(),
  ),
  /** Largest request body accepted, in bytes. */
  SKIFF_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** How long a SIGTERM waits for requests in flight before the process exits anyway. */
  SKIFF_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  /**
   * Stopped tasks stay listed this long (ECS keeps them about an hour), then a loop removes
   * them; their metered usage is kept apart, so /v1/usage and /v1/metrics do not change.
   */
  SKIFF_STOPPED_TASK_RETENTION_SECONDS: z.coerce.number().int().min(1).default(3600),
  /** A node whose agent sends no heartbeat for this long goes down; its tasks stop (NodeLost). */
  SKIFF_NODE_DOWN_AFTER_MS: z.coerce.number().int().min(1000).default(15_000),
  /**
   * Run an agent inside the api process against the local Docker engine, as a node of pool
   * `default`, so one host runs tasks right away. Defaults to on only in the all-in-one setup
   * (DATABASE_URL unset): with an external database the api is usually one of several replicas
   * or a container without the Docker socket, and nodes run their own agents (compose sets it
   * false and runs the `agent` service). Without a Docker engine it warns and runs without one.
   */
  SKIFF_LOCAL_AGENT: optionalText.pipe(z.stringbool().optional()),
  /**
   * Share (0 to 0.9) of this host's cpu and memory the all-in-one offers as fargate capacity, as
   * a second local node in pool fargate; the rest stays with pool default. 0: no local fargate.
   */
  SKIFF_LOCAL_FARGATE_SHARE: z.coerce.number().min(0).max(0.9).default(0.5),
  /**
   * What the local fargate node's tasks may not reach (the agent's setting, checked there):
   * CIDRs and `self` (this host), `none` for no fence; 169.254.0.0/16,self when unset.
   */
  SKIFF_FARGATE_EGRESS_DENY: optionalText.superRefine((text, ctx) => {
    try {
      if (text) parseEgressDeny(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
    }
  }),
  /** Price of a fargate vCPU-hour in USD; AWS Fargate's Linux/x86 on-demand price by default. */
  SKIFF_FARGATE_VCPU_HOUR_PRICE: z.coerce.number().min(0).default(0.04048),
  /** Price of a fargate GB-hour in USD; AWS Fargate's Linux/x86 on-demand price by default. */
  SKIFF_FARGATE_GB_HOUR_PRICE: z.coerce.number().min(0).default(0.004445),
  /** Price of a pool task's reserved vCPU-hour in USD (the nodes are the user's own: 0). */
  SKIFF_POOL_VCPU_HOUR_PRICE: z.coerce.number().min(0).default(0),
  /** Price of a pool task's reserved GB-hour in USD. */
  SKIFF_POOL_GB_HOUR_PRICE: z.coerce.number().min(0).default(0),
  /**
   * The operator's fargate provisioner: a command run with `sh -c`, a JSON request on stdin
   * (README, "Fargate capacity"); exit 0 means done.
   */
  SKIFF_FARGATE_PROVISIONER: optionalText,
  /** The same as a webhook: the JSON request is POSTed here; a 2xx means done. */
  SKIFF_FARGATE_PROVISIONER_URL: optionalText.pipe(z.url().optional()),
  /** Size of each node the provisioner is asked for: cpu units. */
  SKIFF_FARGATE_NODE_CPU: z.coerce.number().int().min(256).default(4096),
  /** Size of each node the provisioner is asked for: MiB. */
  SKIFF_FARGATE_NODE_MEMORY: z.coerce.number().int().min(512).default(16_384),
  /** A provisioned fargate node idle this long is handed back (scale in). */
  SKIFF_FARGATE_SCALE_IN_AFTER_MS: z.coerce.number().int().min(0).default(600_000),
  /** How long requested nodes may take to join before the provisioner is asked again. */
  SKIFF_FARGATE_NODE_BOOT_TIMEOUT_MS: z.coerce.number().int().min(1000).default(180_000),
  /** Executions in flight of all functions together (Lambda's account concurrency); more: 429. */
  SKIFF_FUNCTION_CONCURRENCY: z.coerce.number().int().min(1).default(100),
  /** A function instance idle this long is stopped (the agent stops it by itself after twice this). */
  SKIFF_FUNCTION_IDLE_SECONDS: z.coerce.number().int().min(1).default(300),
  /**
   * How long an invocation that finds its function (or all functions) at its concurrency waits
   * for an execution to end before it is throttled with 429; 0: at once, as Lambda.
   */
  SKIFF_FUNCTION_THROTTLE_WAIT_MS: z.coerce.number().int().min(0).max(30_000).default(1000),
  /** Event (async) invocations one api process runs at once. */
  SKIFF_FUNCTION_EVENT_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(16),
  /** Delay before an Event invocation's first retry; the second waits twice as long (Lambda: 60). */
  SKIFF_FUNCTION_RETRY_DELAY_SECONDS: z.coerce.number().min(0).default(60),
  /** The region in functions' ARNs and their AWS_REGION. */
  SKIFF_REGION: z
    .string()
    .regex(/^[a-z0-9-]{1,32}$/)
    .default("us-east-1"),
  /** Price of one million function requests in USD; Lambda's x86 price by default. */
  SKIFF_FUNCTION_REQUEST_PRICE_PER_MILLION: z.coerce.number().min(0).default(0.2),
  /** Price of a function GB-second in USD; Lambda's x86 price by default. */
  SKIFF_FUNCTION_GB_SECOND_PRICE: z.coerce.number().min(0).default(0.0000166667),
  /** Function requests free each calendar month (Lambda's free tier: 1,000,000). */
  SKIFF_FUNCTION_FREE_REQUESTS: z.coerce.number().int().min(0).default(1_000_000),
  /** Function GB-seconds free each calendar month (Lambda's free tier: 400,000). */
  SKIFF_FUNCTION_FREE_GB_SECONDS: z.coerce.number().min(0).default(400_000),
  /** Docker engine of the local agent, e.g. unix:///run/other.sock; the local socket when unset. */
  DOCKER_HOST: optionalText,
  /** Port of the gateway (load balancer) in this process; 0 runs none (see gateway-main.js). */
  SKIFF_GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  /** A task that has not accepted the gateway's connection by then is skipped for the next (or 504). */
  SKIFF_GATEWAY_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(1).default(5_000),
  /** From a request's last byte sent to a task until its response headers; 504 past it. */
  SKIFF_GATEWAY_RESPONSE_TIMEOUT_MS: z.coerce.number().int().min(1).default(60_000),
  /** Request bodies through the gateway past this many MiB answer 413 (counted as they stream). */
  SKIFF_GATEWAY_MAX_BODY_MB: z.coerce.number().positive().default(10),
  /** Requests in flight at once per gateway process; 503 past it. */
  SKIFF_GATEWAY_MAX_CONCURRENT: z.coerce.number().int().min(1).default(10_000),
  /**
   * Worker processes of gateway-main.js sharing its port (node:cluster); the all-in-one's own
   * gateway is always one, on the api's thread.
   */
  SKIFF_GATEWAY_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  /** A WebSocket API connection with no message either way this long is closed (AWS: 10 min). */
  SKIFF_GATEWAY_WS_IDLE_TIMEOUT_MS: z.coerce.number().int().min(1).default(600_000),
  /** A WebSocket API connection is closed this long after it opened (AWS: 2 h). */
  SKIFF_GATEWAY_WS_MAX_CONNECTION_MS: z.coerce.number().int().min(1).default(7_200_000),
  /**
   * One JSON line per API request through the gateway (api, route, status, latencies, key id,
   * request id, source IP; never a header's or an API key's value), at info; false turns it off.
   */
  SKIFF_GATEWAY_ACCESS_LOG: optionalText.pipe(z.stringbool().default(true)),
  /** Services answer on the gateway at <service>.<SKIFF_DOMAIN>. */
  SKIFF_DOMAIN: z
    .string()
    .regex(/^[a-z0-9.-]{1,200}$/)
    .default("localhost"),
  /**
   * A service's URL on the gateway as users reach it, `{service}` standing for its name (e.g.
   * `https://{service}.apps.example.com/` behind a TLS proxy); GET /v1/info answers it and the
   * dashboard links to it. `http://{service}.<SKIFF_DOMAIN>:<gateway port>/` when unset.
   */
  SKIFF_GATEWAY_URL_TEMPLATE: optionalText.pipe(
    z.string().includes("{service}", { message: "must contain {service}" }).optional(),
  ),
  /** The built dashboard served at `/`; apps/dashboard/dist when unset (none if not built). */
  SKIFF_DASHBOARD_DIR: optionalText,
  /** Port of the built-in registry in this process; 0 runs none (see apps/registry/dist/main.js). */
  SKIFF_REGISTRY_PORT: z.coerce.number().int().min(0).max(65535).default(5000),
  /** Where the registry keeps blobs and uploads; `<SKIFF_DATA_DIR>/registry` when unset. */
  SKIFF_REGISTRY_DATA_DIR: optionalText,
  /**
   * The registry's blob storage, `fs` or `s3` and the bucket's settings: the variables of the
   * standalone registry, commented in apps/registry/src/env.ts.
   */
  ...registryStorageEnv,
  /**
   * The registry as users and nodes reach it (`docker push <address>/team/app`), answered by
   * GET /v1/registry; `localhost:<SKIFF_REGISTRY_PORT>` when unset.
   */
  SKIFF_REGISTRY_ADDRESS: optionalText,
  /**
   * This api's URL as docker clients and nodes reach it: the registry sends them to
   * `<this>/v1/registry/token`. `http://localhost:<PORT>` when unset.
   */
  SKIFF_API_PUBLIC_URL: optionalText.pipe(z.url().optional()),
  /** Blobs a push used within this many seconds are never garbage collected. */
  SKIFF_REGISTRY_GC_GRACE_SECONDS: z.coerce.number().int().min(0).default(3600),
  /** How often registry garbage collection, lifecycle rules and the upload purge run. */
  SKIFF_REGISTRY_MAINTENANCE_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(60),
  /** Task log follow streams (`logs?follow=true`) one API token may hold open at once, per api process. */
  SKIFF_LOG_FOLLOWS_PER_TOKEN: z.coerce.number().int().min(1).default(10),
  /** Task log follow streams one api process serves at once, all tokens together. */
  SKIFF_LOG_FOLLOWS_MAX: z.coerce.number().int().min(1).default(500),
  /**
   * How often an open follow stream checks that its token is still valid: a revoked or expired
   * token's stream ends within this.
   */
  SKIFF_LOG_FOLLOW_RECHECK_SECONDS: z.coerce.number().int().min(1).max(25).default(10),
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

export type Env = Omit<z.infer<typeof envSchema>, "SKIFF_LOCAL_AGENT"> & {
  SKIFF_LOCAL_AGENT: boolean;
};

/** Parses the environment; a bad value ends the process with a message naming the variable. */
export function parseEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const result = envSchema.safeParse(source);
  if (result.success) {
    const env = result.data;
    return { ...env, SKIFF_LOCAL_AGENT: env.SKIFF_LOCAL_AGENT ?? env.DATABASE_URL === undefined };
  }
  const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  throw new Error(`invalid environment: ${problems.join("; ")}`);
}
