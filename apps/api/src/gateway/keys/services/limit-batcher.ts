import type { Redis } from "ioredis";
import {
  checkLimitsFor,
  type LeaseTerms,
  type LimitCheck,
  type LimitResult,
  leaseSize,
  limitCheckId,
} from "./limiter.js";

interface Waiter {
  resolve: (result: LimitResult) => void;
  reject: (error: unknown) => void;
}

/** Tokens taken in Redis ahead of the requests that spend them. */
interface Lease {
  tokens: number;
  /** Requests it admitted, not yet counted as usage in Redis. */
  spent: number;
  /** The UTC day the tokens were taken on. */
  day: number;
  expiresAt: number;
  /** The answer its requests share, with `remaining` counted down from `remainingAfter`. */
  answer: LimitResult;
  /** What the limit had left in Redis once the lease was taken. */
  remainingAfter: number;
}

/** One check's (one key on one route's limits) state in this gateway. */
interface CheckState {
  id: string;
  check: LimitCheck;
  lease: Lease | undefined;
  /** Requests waiting for the next script call. */
  waiters: Waiter[];
  /** A script call is out: waiters gather for the one after it. */
  calling: boolean;
}

/** How long a lease's tokens may be held; then what is left goes back to Redis. */
const leaseMs = 1_000;

/**
 * Decides limits in as few Redis round trips as stay exact:
 * - The identical checks that arrive together (the requests of one key on one route) go out in
 *   one script call, which takes as many tokens as it admits; requests arriving while a call is
 *   out gather for the next, so a check has one call out at a time.
 * - Where a limit is generous (leaseSize), the call also takes a lease of up to 1% of it, and
 *   the next requests spend the lease from memory. A lease is held for a second at most, then its
 *   unspent tokens go back to the buckets and the quota, and its requests to the usage counter.
 *
 * Tokens are taken in Redis before they are spent, so no limit is exceeded by more than the
 * leases held (each gateway's at most 1% of it, granted only while ten leases' worth remain),
 * and no gateway refuses while more than that sits in other gateways' leases.
 */
export class LimitBatcher {
  private readonly states = new Map<string, CheckState>();
  private due: CheckState[] = [];
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly redis: Redis) {
    this.sweeper = setInterval(() => this.settleExpired(), leaseMs);
    this.sweeper.unref();
  }

  check(check: LimitCheck): LimitResult | Promise<LimitResult> {
    const id = limitCheckId(check);
    let state = this.states.get(id);
    if (!state) {
      state = { id, check, lease: undefined, waiters: [], calling: false };
      this.states.set(id, state);
    }
    const lease = state.lease;
    if (lease && lease.tokens > 0 && lease.expiresAt > Date.now()) return spend(lease);
    const answer = new Promise<LimitResult>((resolve, reject) =>
      state.waiters.push({ resolve, reject }),
    );
    if (state.waiters.length === 1 && !state.calling) this.schedule(state);
    return answer;
  }

  /** Gives every lease back; the gateway is stopping. */
  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.allSettled([...this.states.values()].map((state) => this.call(state)));
  }

  private schedule(state: CheckState): void {
    this.due.push(state);
    if (this.due.length === 1) setImmediate(() => this.flush());
  }

  private flush(): void {
    const due = this.due;
    this.due = [];
    for (const state of due) void this.call(state);
  }

  /** One script call: the waiters' requests, a new lease, and the settling of the old one. */
  private async call(state: CheckState): Promise<void> {
    if (state.calling) return;
    const waiters = state.waiters;
    const old = state.lease;
    if (waiters.length === 0 && !old) return;
    state.waiters = [];
    state.lease = undefined;
    state.calling = true;
    const terms: LeaseTerms = {
      extra: waiters.length > 0 ? leaseSize(state.check) : 0,
      returned: old?.tokens ?? 0,
      used: old?.spent ?? 0,
      day: old?.day ?? 0,
    };
    try {
      const decision = await checkLimitsFor(this.redis, state.check, waiters.length, terms);
      const { admitted, first, rest, granted, day } = decision;
      for (const [i, waiter] of waiters.entries()) {
        if (i >= admitted) waiter.resolve(rest);
        else waiter.resolve({ ...first, remaining: Math.max(0, first.remaining - i) });
      }
      if (granted > 0)
        state.lease = {
          tokens: granted,
          spent: 0,
          day,
          expiresAt: Date.now() + leaseMs,
          answer: first,
          remainingAfter: first.remaining - (admitted - 1) - granted,
        };
    } catch (error) {
      // The old lease's return and usage are lost with the call: the limits err on the safe side.
      for (const waiter of waiters) waiter.reject(error);
    } finally {
      state.calling = false;
    }
    this.afterCall(state);
  }

  /** Serves the requests that gathered during the call from the new lease, or calls again. */
  private afterCall(state: CheckState): void {
    const lease = state.lease;
    while (lease && lease.tokens > 0 && state.waiters.length > 0)
      state.waiters.shift()?.resolve(spend(lease));
    if (state.waiters.length > 0) this.schedule(state);
    else if (!lease) this.states.delete(state.id);
  }

  private settleExpired(): void {
    const now = Date.now();
    for (const state of this.states.values())
      if (state.lease && state.lease.expiresAt <= now && state.waiters.length === 0)
        void this.call(state);
  }
}

function spend(lease: Lease): LimitResult {
  lease.tokens--;
  lease.spent++;
  return { ...lease.answer, remaining: Math.max(0, lease.remainingAfter + lease.tokens) };
}
