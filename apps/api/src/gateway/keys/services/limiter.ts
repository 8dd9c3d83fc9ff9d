import type { Redis } from "ioredis";
import { limiterScript } from "./limiter-script.js";
import type { QuotaPeriod } from "./quota-periods.js";

/** A token bucket in Redis: `rateLimit` tokens a second up to `burstLimit`. */
export interface Bucket {
  key: string;
  rateLimit: number;
  burstLimit: number;
}

export interface QuotaCheck {
  /** The counter's base key; the period's first day number is appended. */
  key: string;
  limit: number;
  period: QuotaPeriod;
  offset: number;
  /** When the quota was set, in seconds: its offset applies in that period only. */
  setAtSeconds: number;
}

export interface LimitCheck {
  buckets: Bucket[];
  quota: QuotaCheck | undefined;
  /** The usage counter's base key when the request is metered; the UTC day number is appended. */
  usageKey: string | undefined;
}

export interface LimitResult {
  allowed: boolean;
  /** The limit refusing the request, or the tightest one when it is allowed ("none": no limit). */
  kind: "none" | "throttle" | "quota";
  limit: number;
  remaining: number;
  /** Seconds until the limit is whole again: the bucket full, the quota's next period. */
  reset: number;
  /** Seconds to wait before a retry can pass, when refused. */
  retryAfter: number;
}

const periodCodes: Record<QuotaPeriod, number> = { DAY: 1, WEEK: 2, MONTH: 3 };
const kinds = ["none", "throttle", "quota"] as const;

/** What one script call decided for `want` identical requests. */
export interface BatchDecision {
  /** How many of them were admitted: the first `admitted` in order of arrival. */
  admitted: number;
  /** The first admitted request's answer (or the refusal, when none was admitted). */
  first: LimitResult;
  /** The answer of those past `admitted`. */
  rest: LimitResult;
}

/** Runs every limit of one request in one Redis round trip (limiter-script.ts). */
export async function checkLimits(redis: Redis, check: LimitCheck): Promise<LimitResult> {
  return (await checkLimitsFor(redis, check, 1)).first;
}

/**
 * Runs every limit of `want` identical requests in one Redis round trip, admitting as many as
 * the limits allow (exact: the script takes that many tokens at once).
 */
export async function checkLimitsFor(
  redis: Redis,
  check: LimitCheck,
  want: number,
): Promise<BatchDecision> {
  const keys: string[] = check.buckets.map((bucket) => bucket.key);
  const args: (string | number)[] = [check.buckets.length];
  for (const bucket of check.buckets) args.push(bucket.rateLimit, bucket.burstLimit);
  if (check.quota) {
    keys.push(check.quota.key);
    const { limit, period, offset, setAtSeconds } = check.quota;
    args.push(limit, periodCodes[period], offset, setAtSeconds);
  } else {
    args.push(0, 0, 0, 0);
  }
  if (check.usageKey) keys.push(check.usageKey);
  args.push(check.usageKey ? 1 : 0, want);
  const answer = (await limiterScript.run(redis, keys.length, ...keys, ...args)) as number[];
  const [allowed, kind, limit, remaining, reset, retryAfter, admitted, ...short] =
    answer.map(Number);
  const first: LimitResult = {
    allowed: allowed === 1,
    kind: kinds[kind ?? 0] ?? "none",
    limit: limit ?? 0,
    remaining: Math.max(0, remaining ?? 0),
    reset: reset ?? 0,
    retryAfter: retryAfter ?? 0,
  };
  if (!first.allowed) return { admitted: 0, first, rest: first };
  const [shortKind, shortLimit, shortReset, shortRetry] = short;
  return {
    admitted: admitted ?? 1,
    first,
    rest: {
      allowed: false,
      kind: kinds[shortKind ?? 0] ?? "none",
      limit: shortLimit ?? 0,
      remaining: 0,
      reset: shortReset ?? 0,
      retryAfter: shortRetry ?? 0,
    },
  };
}

/** Redis keys of the limiter; every gateway replica names a limit the same way. */
export const limiterKeys = {
  route: (apiId: string, routeKey: string) => `gw:tb:route:${apiId}:${routeKey}`,
  api: (apiId: string) => `gw:tb:api:${apiId}`,
  key: (planId: string, keyId: string) => `gw:tb:key:${planId}:${keyId}`,
  quota: (planId: string, keyId: string) => `gw:quota:${planId}:${keyId}`,
  usage: (planId: string, keyId: string) => `gw:usage:${planId}:${keyId}`,
};
