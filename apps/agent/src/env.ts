import { hostname } from "node:os";
import { nodeAddressSchema } from "@skiff/shared";
import { z } from "zod";
import { defaultEgressDeny, parseEgressDeny } from "./egress-fence.js";

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value?.trim() ? value.trim() : undefined));

const attributeKey = /^[a-zA-Z0-9._/-]{1,63}$/;

/**
 * Parses `k=v,k2=v2` into attributes. Keys follow the api's attribute key rule, so a typo fails
 * at boot instead of at registration.
 */
export function parseAttributes(text: string | undefined): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const pair of (text ?? "").split(",")) {
    if (!pair.trim()) continue;
    const separator = pair.indexOf("=");
    if (separator <= 0) throw new Error(`"${pair.trim()}" is not key=value`);
    const key = pair.slice(0, separator).trim();
    const value = pair.slice(separator + 1).trim();
    if (!attributeKey.test(key)) throw new Error(`"${key}" is not a valid attribute key`);
    attributes[key] = value;
  }
  return attributes;
}

/** Every setting of the agent process, read once at boot from the environment. */
export const envSchema = z.object({
  /** Base URL of the control plane, e.g. http://api:3000. */
  SKIFF_API_URL: z.url(),
  /** Pool join token; only needed until the node is registered (then the state file is used). */
  SKIFF_JOIN_TOKEN: optionalText,
  /**
   * An admin token of the api. Only used when the node is not registered and has no join token:
   * the agent then creates a join token for SKIFF_POOL itself (one-command compose setup).
   */
  SKIFF_ADMIN_TOKEN: optionalText,
  /** The pool the agent joins when it creates its own join token with SKIFF_ADMIN_TOKEN. */
  SKIFF_POOL: optionalText.transform((value) => value ?? "default"),
  /** Where the node id and credential are kept (a JSON file, mode 0600). */
  SKIFF_AGENT_STATE_DIR: z.string().default("./.skiff-agent"),
  /** Name shown for this node; the host name when unset. */
  SKIFF_NODE_NAME: optionalText.transform((value) => value ?? hostname()),
  /**
   * Address other hosts reach published ports at (a host name or IP, no scheme or port); the api
   * uses the request's source when unset.
   */
  SKIFF_NODE_ADDRESS: optionalText.pipe(nodeAddressSchema.optional()),
  /** Cpu units kept for the host and the agent itself, subtracted from the node's capacity. */
  SKIFF_RESERVED_CPU: z.coerce.number().int().min(0).default(0),
  /** MiB kept for the host and the agent itself, subtracted from the node's capacity. */
  SKIFF_RESERVED_MEMORY: z.coerce.number().int().min(0).default(256),
  /**
   * For two agents sharing one host (compose: one in pool default, one in pool fargate), as
   * npm start's SKIFF_LOCAL_FARGATE_SHARE: the node of pool fargate offers this share of the
   * host's cpu and memory and a node of any other pool the rest, so they never both claim the
   * whole host. 0 (default): this node is alone on its host and offers all of it.
   */
  SKIFF_LOCAL_FARGATE_SHARE: z.coerce.number().min(0).max(0.9).default(0),
  /** The operator's own placement attributes, `k=v,k2=v2`; os, arch and hostname are added. */
  SKIFF_NODE_ATTRIBUTES: optionalText.transform((text, ctx) => {
    try {
      return parseAttributes(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  }),
  /** OCI runtime of fargate containers, e.g. runsc once gVisor is installed; the engine's default when unset. */
  SKIFF_FARGATE_RUNTIME: optionalText,
  /** Most processes one fargate container may run. */
  SKIFF_FARGATE_PIDS_LIMIT: z.coerce.number().int().min(16).max(1_000_000).default(1024),
  /** Writable-layer limit of fargate containers, e.g. 20G; needs overlay2 on xfs with pquota. */
  SKIFF_FARGATE_STORAGE_SIZE: optionalText,
  /**
   * What fargate tasks may not reach: IPv4 CIDRs (or addresses), and `self` for every address of
   * this node and every port published on them (the api, the registry, a TCP Docker socket,
   * other tasks' ports). Enforced with iptables (needs root or NET_ADMIN in the host's network
   * namespace); the internet and the task's own containers stay reachable. `none`: no fence.
   */
  SKIFF_FARGATE_EGRESS_DENY: optionalText.transform((text, ctx) => {
    try {
      return parseEgressDeny(text ?? defaultEgressDeny);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  }),
  /** Fargate tasks' networks each take a /28 of this; give each engine on one host its own. */
  SKIFF_TASK_SUBNET_POOL: z
    .string()
    .regex(/^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-8])$/, "must be an IPv4 CIDR from /16 to /28")
    .default("10.240.0.0/16"),
  /**
   * Skiff's registries (host:port, comma-separated): images from them are pulled with this
   * node's credential. Never other registries: the credential must not leak.
   */
  SKIFF_REGISTRY_ADDRESS: optionalText.transform((text) =>
    (text ?? "localhost:5000,127.0.0.1:5000")
      .split(",")
      .map((address) => address.trim())
      .filter(Boolean),
  ),
  /**
   * A Docker client config (`config.json`, as `docker login` writes) whose `auths` the agent
   * uses for images of other private registries; read at each pull. Unset: none.
   */
  SKIFF_REGISTRY_AUTH_FILE: optionalText,
  /**
   * Longest one image pull may take; past it the task stops (TaskFailedToStart,
   * CannotPullContainerError). Other tasks never wait for a pull, whatever this is.
   */
  SKIFF_IMAGE_PULL_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  /**
   * Size of a task container's log file before it rotates (json-file `max-size`: 10m, 512k), so a
   * chatty task cannot fill the node's disk. The agent ships lines as they come; these files are
   * only the engine's buffer.
   */
  SKIFF_CONTAINER_LOG_MAX_SIZE: z
    .string()
    .regex(/^\d+[kmg]?$/, "must be a size as Docker takes it, e.g. 10m")
    .default("10m"),
  /** Log files kept per task container, the current one included (json-file `max-file`). */
  SKIFF_CONTAINER_LOG_MAX_FILES: z.coerce.number().int().min(1).max(100).default(3),
  /**
   * Port of the agent's control server for function instances (the api starts, invokes and
   * deletes instances there, with the node's control key); 0: any free port. Reported to the api
   * with each heartbeat. Served by nodes of pool fargate only.
   */
  SKIFF_AGENT_PORT: z.coerce.number().int().min(0).max(65535).default(7070),
  /**
   * Port of the Lambda Runtime API the node serves its function instances on (all addresses;
   * the only port of this node fargate's fence leaves open to them); 0: any free port.
   */
  SKIFF_RUNTIME_API_PORT: z.coerce.number().int().min(0).max(65535).default(9001),
  /**
   * The api's idle window for function instances (as its own SKIFF_FUNCTION_IDLE_SECONDS): the
   * agent stops, on its own, an instance idle for twice this (the api lost track of it).
   */
  SKIFF_FUNCTION_IDLE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  /**
   * Fenced instance networks kept made ahead (one per instance, never reused): a cold start
   * takes one instead of waiting for the engine and iptables. 0: each start makes its own.
   */
  SKIFF_FUNCTION_SPARE_NETWORKS: z.coerce.number().int().min(0).max(64).default(2),
  /** MiB of function code tars kept under SKIFF_AGENT_STATE_DIR; least recently used go first. */
  SKIFF_FUNCTION_CODE_CACHE_MB: z.coerce.number().int().min(64).max(1_048_576).default(2048),
  /** Docker engine, e.g. unix:///run/other.sock or tcp://host:2375; the local socket when unset. */
  DOCKER_HOST: optionalText,
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; a bad value ends the process with a message naming the variable. */
export function parseEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const result = envSchema.safeParse(source);
  if (result.success) {
    // Beside a pool default node on the same host (compose), as npm start names its own.
    if (!source.SKIFF_NODE_NAME?.trim() && result.data.SKIFF_POOL === "fargate")
      result.data.SKIFF_NODE_NAME = `${hostname()}-fargate`;
    return result.data;
  }
  const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  throw new Error(`invalid environment: ${problems.join("; ")}`);
}
