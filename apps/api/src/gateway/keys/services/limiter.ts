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
  /** Tokens taken beyond the admitted requests, for the gateway to spend on its next ones. */
  granted: number;
  /** The UTC day number (Redis's clock) the tokens were taken on. */
  day: number;
}

/** A gateway's lease in a script call: what it asks for, and what it settles of the last one. */
export interface LeaseTerms {
  /** Tokens to take beyond the admitted requests (0: none). */
  extra: number;
  /** Unspent tokens of the previous lease, given back. */
  returned: number;
  /** Requests the previous lease admitted, added to usage. */
  used: number;
  /** The day the previous lease was granted on (its quota period is the one given back to). */
  day: number;
}

const noLease: LeaseTerms = { extra: 0, returned: 0, used: 0, day: 0 };

/** Runs every limit of one request in one Redis round trip (limiter-script.ts). */
export async function checkLimits(redis: Redis, check: LimitCheck): Promise<LimitResult> {
  return (await checkLimitsFor(redis, check, 1)).first;
}

/**
 * Runs every limit of `want` identical requests in one Redis round trip, admitting as many as
 * the limits allow (exact: the script takes that many tokens at once), and settling and taking
 * a lease on the way.
 */
export async function checkLimitsFor(
  redis: Redis,
  check: LimitCheck,
  want: number,
  lease: LeaseTerms = noLease,
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
  args.push(check.usageKey ? 1 : 0, want, lease.extra, lease.returned, lease.used, lease.day);
  const answer = (await limiterScript.run(redis, keys.length, ...keys, ...args)) as number[];
  const [allowed, kind, limit, remaining, reset, retryAfter, admitted, ...more] =
    answer.map(Number);
  const [shortKind, shortLimit, shortReset, shortRetry, granted, day] = more;
  const first: LimitResult = {
    allowed: allowed === 1,
    kind: kinds[kind ?? 0] ?? "none",
    limit: limit ?? 0,
    remaining: Math.max(0, remaining ?? 0),
    reset: reset ?? 0,
    retryAfter: retryAfter ?? 0,
  };
  const taken = { granted: granted ?? 0, day: day ?? 0 };
  if (!first.allowed) return { admitted: 0, first, rest: first, ...taken };
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
    ...taken,
  };
}

/** Names a check: equal checks (one key on one route, the same limits) share an id. */
export function limitCheckId(check: LimitCheck): string {
  let id = check.usageKey ?? "";
  for (const { key, rateLimit, burstLimit } of check.buckets)
    id += `|${key}:${rateLimit}:${burstLimit}`;
  const quota = check.quota;
  if (quota)
    id += `|${quota.key}:${quota.limit}:${quota.period}:${quota.offset}:${quota.setAtSeconds}`;
  return id;
}

/** A lease is at most this share of the smallest limit it draws on... */
const leaseShare = 100;
/** ...and at most this many tokens (enough to skip Redis for all but a few requests in 100). */
const maxLease = 100;

/**
 * How many tokens a gateway may hold for a check's next requests: 1% of its smallest burst or
 * quota, up to 100; none (every request decided in Redis) when that is under 2. The script lends
 * only while every limit keeps ten leases' worth, so a limit near its end is decided exactly.
 */
export function leaseSize(check: LimitCheck): number {
  let smallest = Number.POSITIVE_INFINITY;
  for (const bucket of check.buckets) smallest = Math.min(smallest, bucket.burstLimit);
  if (check.quota) smallest = Math.min(smallest, check.quota.limit - check.quota.offset);
  const size = Math.min(maxLease, Math.floor(smallest / leaseShare));
  return size >= 2 ? size : 0;
}

/** Redis keys of the limiter; every gateway replica names a limit the same way. */
export const limiterKeys = {
  route: (apiId: string, routeKey: string) => `gw:tb:route:${apiId}:${routeKey}`,
  api: (apiId: string) => `gw:tb:api:${apiId}`,
  key: (planId: string, keyId: string) => `gw:tb:key:${planId}:${keyId}`,
  quota: (planId: string, keyId: string) => `gw:quota:${planId}:${keyId}`,
  usage: (planId: string, keyId: string) => `gw:usage:${planId}:${keyId}`,
};
