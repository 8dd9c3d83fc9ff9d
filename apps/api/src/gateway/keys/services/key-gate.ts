import type { Redis } from "ioredis";
import type { Database } from "../../../db/client.js";
import type { Logger } from "../../../lib/logger.js";
import type { AccessDecision, AccessGate, AccessRequest } from "../../access.js";
import { ReloadedTable } from "../../reloaded-table.js";
import { keysChangedChannel } from "./changes.js";
import { type GateKey, type GateTable, loadGateTable } from "./gate-table.js";
import { hashApiKey } from "./key-values.js";
import { LimitBatcher } from "./limit-batcher.js";
import { type Bucket, type LimitCheck, type LimitResult, limiterKeys } from "./limiter.js";

export interface KeyGateOptions {
  db: Database;
  redis: Redis;
  /**
   * The connection the limits are checked on (default `redis`). The gateway gives one with
   * auto-pipelining: the checks of requests arriving together go out in one write.
   */
  limiterRedis?: Redis;
  logger: Logger;
  /** Reload this often even without a change message, in case one was lost. */
  refreshMs?: number;
}

const forbidden = JSON.stringify({ message: "Forbidden" });
const tooManyRequests = JSON.stringify({ message: "Too Many Requests" });
const limitExceeded = JSON.stringify({ message: "Limit Exceeded" });

/**
 * API keys, usage plans and default throttles, enforced per request from memory and one Redis
 * script (no PostgreSQL on the hot path). Keys and plans reload on `gateway:keys:changed`.
 */
export class KeyGate implements AccessGate {
  private readonly keys: ReloadedTable<GateTable>;
  private readonly limits: LimitBatcher;
  private lastRedisWarning = 0;

  constructor(private readonly options: KeyGateOptions) {
    this.limits = new LimitBatcher(options.limiterRedis ?? options.redis);
    this.keys = new ReloadedTable({
      redis: options.redis,
      channel: keysChangedChannel,
      logger: options.logger,
      load: () => loadGateTable(options.db),
      initial: new Map(),
      what: "API keys and usage plans",
      refreshMs: options.refreshMs ?? 10_000,
    });
  }

  /** Loads keys and plans and subscribes to changes; resolves once both hold. */
  start(): Promise<void> {
    return this.keys.start();
  }

  /** Stops reloading, and gives the limits' unspent leases back to Redis. */
  async stop(): Promise<void> {
    await this.keys.stop();
    await this.limits.stop();
  }

  reload(): Promise<void> {
    return this.keys.reload();
  }

  async admit(request: AccessRequest): Promise<AccessDecision> {
    const key = request.apiKey ? this.keys.current.get(hashApiKey(request.apiKey)) : undefined;
    const plan = key?.enabled ? key.plans.get(request.apiId) : undefined;
    // A key that is not required but given and valid is still metered by its plan (as AWS).
    if (request.apiKeyRequired && !plan) {
      return { allowed: false, status: 403, body: forbidden, headers: {} };
    }
    const meteredKey: GateKey | undefined = plan ? key : undefined;
    const buckets: Bucket[] = [];
    if (request.routeThrottle)
      buckets.push({
        key: limiterKeys.route(request.apiId, request.routeKey),
        ...request.routeThrottle,
      });
    if (request.apiThrottle)
      buckets.push({ key: limiterKeys.api(request.apiId), ...request.apiThrottle });
    if (plan && meteredKey && plan.throttle)
      buckets.push({ key: limiterKeys.key(plan.id, meteredKey.id), ...plan.throttle });
    const check: LimitCheck = {
      buckets,
      quota:
        plan?.quota && meteredKey
          ? { key: limiterKeys.quota(plan.id, meteredKey.id), ...plan.quota }
          : undefined,
      usageKey: plan && meteredKey ? limiterKeys.usage(plan.id, meteredKey.id) : undefined,
    };
    const apiKeyId = meteredKey?.id;
    if (buckets.length === 0 && !check.quota && !check.usageKey)
      return { allowed: true, apiKeyId, headers: {} };

    let result: LimitResult;
    try {
      result = await this.limits.check(check);
    } catch (error) {
      // Keys are checked from memory above; without Redis only the limits lapse, and an outage
      // of the limiter should not take every API down with it (Kong's fault-tolerant default).
      this.warnRedis(error);
      return { allowed: true, apiKeyId, headers: {} };
    }
    const headers = rateLimitHeaders(result);
    if (result.allowed) return { allowed: true, apiKeyId, headers };
    headers["Retry-After"] = String(result.retryAfter);
    return {
      allowed: false,
      status: 429,
      body: result.kind === "quota" ? limitExceeded : tooManyRequests,
      headers,
    };
  }

  private warnRedis(error: unknown): void {
    const now = Date.now();
    if (now - this.lastRedisWarning < 10_000) return;
    this.lastRedisWarning = now;
    this.options.logger.warn(
      { err: (error as Error).message },
      "the gateway's limiter cannot reach Redis; requests pass unthrottled",
    );
  }
}

/** `X-RateLimit-*` of the tightest (or refusing) limit; none when no limit applies. */
export function rateLimitHeaders(result: LimitResult): Record<string, string> {
  if (result.kind === "none") return {};
  return {
    "X-RateLimit-Limit": String(result.limit),
    "X-RateLimit-Remaining": String(result.remaining),
    "X-RateLimit-Reset": String(result.reset),
  };
}

/** The gate of API keys and usage plans; call `start()` before the first request. */
export function newKeyGate(options: KeyGateOptions): KeyGate {
  return new KeyGate(options);
}
