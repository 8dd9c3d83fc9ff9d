import type { Acquired } from "./router.js";

/** A warm instance and the lease it runs under, passed on without a trip to Redis. */
export type HandedSlot = Extract<Acquired, { kind: "warm" }>;

interface Waiter {
  revision: number;
  resolve(slot: HandedSlot | undefined): void;
}

/**
 * Callers waiting for an execution slot of a function at its concurrency limit, in this api
 * process. An invocation that ends hands its lease and instance straight to the longest waiting
 * caller of the same revision (the slot stays taken in Redis, so the limit holds across
 * replicas); a slot released here wakes the longest waiting one to acquire it (not all of them,
 * which would only race for the one slot); a release on another replica is found by the
 * waiter's own retry after `maxMs`.
 */
export class SlotWaiters {
  private readonly waiting = new Map<string, Waiter[]>();

  /** Resolves with a slot handed on, or with nothing when one may be free or after `maxMs`. */
  wait(functionId: string, revision: number, maxMs: number): Promise<HandedSlot | undefined> {
    return new Promise((resolve) => {
      let queue = this.waiting.get(functionId);
      if (!queue) {
        queue = [];
        this.waiting.set(functionId, queue);
      }
      const waiters = queue;
      const waiter: Waiter = {
        revision,
        resolve: (slot) => {
          clearTimeout(timer);
          resolve(slot);
        },
      };
      const timer = setTimeout(() => {
        this.remove(functionId, waiters, waiter);
        resolve(undefined);
      }, maxMs);
      waiters.push(waiter);
    });
  }

  /** Gives `slot` to the longest waiting caller of its revision; false when there is none. */
  handOff(functionId: string, slot: HandedSlot): boolean {
    const queue = this.waiting.get(functionId);
    const waiter = queue?.find((candidate) => candidate.revision === slot.lease.revision);
    if (!queue || !waiter) return false;
    this.remove(functionId, queue, waiter);
    waiter.resolve(slot);
    return true;
  }

  /** A slot of the function was released in this process. */
  released(functionId: string): void {
    const queue = this.waiting.get(functionId);
    const next = queue?.[0];
    if (!queue || !next) return;
    this.remove(functionId, queue, next);
    next.resolve(undefined);
  }

  private remove(functionId: string, queue: Waiter[], waiter: Waiter): void {
    const at = queue.indexOf(waiter);
    if (at >= 0) queue.splice(at, 1);
    if (queue.length === 0 && this.waiting.get(functionId) === queue)
      this.waiting.delete(functionId);
  }
}
