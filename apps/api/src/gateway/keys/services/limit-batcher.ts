import type { Redis } from "ioredis";
import { checkLimitsFor, type LimitCheck, type LimitResult } from "./limiter.js";

interface Batch {
  check: LimitCheck;
  waiters: { resolve: (result: LimitResult) => void; reject: (error: unknown) => void }[];
}

/**
 * Gathers the identical limit checks that arrive in one turn of the event loop (the requests of
 * one key on one route, read from their sockets together) into one script call that takes as
 * many tokens as it admits. A keyed request's Redis round trip was most of its extra cost over
 * the plain load balancer; under load this cuts it by the number of requests gathered, and the
 * decision stays atomic, so limits stay exact across replicas.
 */
export class LimitBatcher {
  private batches = new Map<string, Batch>();
  private scheduled = false;

  constructor(private readonly redis: Redis) {}

  check(check: LimitCheck): Promise<LimitResult> {
    const id = JSON.stringify(check);
    let batch = this.batches.get(id);
    if (!batch) {
      batch = { check, waiters: [] };
      this.batches.set(id, batch);
    }
    const { waiters } = batch;
    const answer = new Promise<LimitResult>((resolve, reject) => waiters.push({ resolve, reject }));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return answer;
  }

  private flush(): void {
    const batches = this.batches;
    this.batches = new Map();
    this.scheduled = false;
    for (const { check, waiters } of batches.values()) {
      checkLimitsFor(this.redis, check, waiters.length).then(
        ({ admitted, first, rest }) => {
          for (const [i, waiter] of waiters.entries()) {
            if (i >= admitted) waiter.resolve(rest);
            else if (i === 0) waiter.resolve(first);
            else waiter.resolve({ ...first, remaining: Math.max(0, first.remaining - i) });
          }
        },
        (error: unknown) => {
          for (const waiter of waiters) waiter.reject(error);
        },
      );
    }
  }
}
