import { eq } from "drizzle-orm";
import type { Redis } from "ioredis";
import { ensureClusterId } from "../../compute/services/cluster.js";
import type { Database } from "../../db/client.js";
import { ApiError } from "../../lib/errors.js";
import type { Logger } from "../../lib/logger.js";
import { channelOf } from "../../lib/redis.js";
import { decryptSecretValue, type SecretsKey } from "../../secrets/services/secret-crypto.js";
import { findSealedSecrets } from "../../secrets/services/secrets.js";
import { functions } from "../schema/functions.js";
import { accountIdOf, functionArn } from "./function-arn.js";
import type { FunctionLookup, FunctionRuntimeConfig } from "./function-config.js";

/** pub/sub: a function's configuration or code changed, or it was deleted; payload its id. */
export const functionChangedChannel = "fn:changed";

/** Tells every api replica's FunctionDirectory to forget what it holds of `functionId`. */
export async function publishFunctionChanged(redis: Redis, functionId: string): Promise<void> {
  await redis.publish(channelOf(redis, functionChangedChannel), functionId);
}

type FunctionRow = typeof functions.$inferSelect;

export interface FunctionDirectoryOptions {
  db: Database;
  redis: Redis;
  secretsKey: SecretsKey;
  /** SKIFF_REGION: the region in ARNs. */
  region: string;
  /**
   * How long an entry is trusted without a word on `fn:changed`: the safety net for a message
   * lost while the subscriber reconnected. 10 s by default.
   */
  ttlMs?: number;
  logger?: Logger;
  now?: () => number;
}

interface Entry {
  at: number;
  /** The function's id once loaded (undefined while loading, or when there is none). */
  id: string | undefined;
  config: Promise<FunctionRuntimeConfig | undefined>;
}

/**
 * What the invoke path knows of functions, held in memory per api process: a miss reads
 * PostgreSQL once (concurrent misses of one name share that read), then the entry serves every
 * invocation until `fn:changed` names the function (any replica's change) or the TTL passes.
 * Secrets are resolved (decrypted) at load, so the config is what an instance starts with.
 */
export class FunctionDirectory implements FunctionLookup {
  private readonly byName = new Map<string, Entry>();
  private readonly byId = new Map<string, Entry>();
  private account: Promise<string> | undefined;
  private subscriber: Redis | undefined;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly options: FunctionDirectoryOptions) {
    this.ttlMs = options.ttlMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Subscribes to `fn:changed`; resolves once the subscription holds. */
  async start(): Promise<void> {
    const subscriber = this.options.redis.duplicate();
    this.subscriber = subscriber;
    subscriber.on("error", (error: Error) =>
      this.options.logger?.warn({ err: error.message }, "function directory: Redis error"),
    );
    subscriber.on("message", (_channel: string, functionId: string) => this.forget(functionId));
    // After a reconnect, changes made while it was down were never heard: start afresh.
    subscriber.on("ready", () => this.forgetAll());
    await subscriber.subscribe(channelOf(this.options.redis, functionChangedChannel));
  }

  stop(): void {
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }

  get(name: string): Promise<FunctionRuntimeConfig | undefined> {
    return this.lookup(this.byName, name, () => this.load(eq(functions.name, name)));
  }

  getById(id: string): Promise<FunctionRuntimeConfig | undefined> {
    return this.lookup(this.byId, id, () => this.load(eq(functions.id, id)));
  }

  /** The install's 12-digit account id (from the cluster id, made once). */
  accountId(): Promise<string> {
    this.account ??= ensureClusterId(this.options.db).then(accountIdOf, (error) => {
      this.account = undefined;
      throw error;
    });
    return this.account;
  }

  async arnOf(name: string): Promise<string> {
    return functionArn(this.options.region, await this.accountId(), name);
  }

  /**
   * Drops what this process holds of `functionId`, entries still loading (their read may predate
   * the change) and names known to be missing (the change may have created one).
   */
  forget(functionId: string): void {
    for (const map of [this.byName, this.byId])
      for (const [key, entry] of map)
        if (entry.id === functionId || entry.id === undefined) map.delete(key);
  }

  forgetAll(): void {
    this.byName.clear();
    this.byId.clear();
  }

  private lookup(
    map: Map<string, Entry>,
    key: string,
    load: () => Promise<FunctionRuntimeConfig | undefined>,
  ): Promise<FunctionRuntimeConfig | undefined> {
    const cached = map.get(key);
    if (cached && this.now() - cached.at < this.ttlMs) return cached.config;
    const entry: Entry = { at: this.now(), id: undefined, config: load() };
    map.set(key, entry);
    entry.config.then(
      (config) => {
        entry.id = config?.id;
      },
      // A failed read is not remembered: the next call tries again.
      () => {
        if (map.get(key) === entry) map.delete(key);
      },
    );
    return entry.config;
  }

  private async load(where: ReturnType<typeof eq>): Promise<FunctionRuntimeConfig | undefined> {
    const [row] = await this.options.db.select().from(functions).where(where);
    if (!row) return undefined;
    return {
      id: row.id,
      name: row.name,
      arn: await this.arnOf(row.name),
      runtime: row.runtime,
      handler: row.handler,
      memory: row.memory,
      timeout: row.timeout,
      environment: { ...row.environment, ...(await this.secretValues(row)) },
      reservedConcurrency: row.reservedConcurrency,
      async: {
        maximumRetryAttempts: row.maxRetryAttempts,
        maximumEventAgeSeconds: row.maxEventAgeSeconds,
      },
      code: row.image
        ? { image: row.image }
        : row.codeSha256
          ? { sha256: row.codeSha256, size: row.codeSize ?? 0 }
          : null,
      revision: row.revision,
    };
  }

  /**
   * The function's secrets as variables. One that is gone (deleted with force) or that this
   * api's key cannot open fails the lookup with a message naming it, never a value: starting an
   * instance without it would run the code with a variable silently missing.
   */
  private async secretValues(row: FunctionRow): Promise<Record<string, string>> {
    if (row.secrets.length === 0) return {};
    const sealed = await findSealedSecrets(this.options.db, [
      ...new Set(row.secrets.map((secret) => secret.valueFrom)),
    ]);
    const byName = new Map(sealed.map((secret) => [secret.name, secret]));
    const values: Record<string, string> = {};
    for (const secret of row.secrets) {
      const found = byName.get(secret.valueFrom);
      if (!found)
        throw new ApiError(
          "UnprocessableEntity",
          `function ${row.name}: secret ${secret.valueFrom} (for ${secret.name}) does not exist`,
        );
      try {
        values[secret.name] = decryptSecretValue(
          this.options.secretsKey,
          found.name,
          found.ciphertext,
        );
      } catch {
        throw new ApiError(
          "UnprocessableEntity",
          `function ${row.name}: secret ${secret.valueFrom} does not decrypt with this api's secrets key (give every replica the same SKIFF_SECRETS_KEY)`,
        );
      }
    }
    return values;
  }
}
