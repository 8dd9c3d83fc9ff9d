/**
 * Callers waiting for an execution slot of a function at its concurrency limit, in this api
 * process: a release here wakes the longest waiting one (not all of them, which would only race
 * for the one slot); a release on another replica is found by the waiter's own retry after
 * `maxMs`.
 */
export class SlotWaiters {
  private readonly waiting = new Map<string, (() => void)[]>();

  /** Resolves when a slot of the function may be free, or after `maxMs`. */
  wait(functionId: string, maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      let queue = this.waiting.get(functionId);
      if (!queue) {
        queue = [];
        this.waiting.set(functionId, queue);
      }
      const waiters = queue;
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const at = waiters.indexOf(wake);
        if (at >= 0) waiters.splice(at, 1);
        if (waiters.length === 0 && this.waiting.get(functionId) === waiters)
          this.waiting.delete(functionId);
        resolve();
      }, maxMs);
      waiters.push(wake);
    });
  }

  /** A slot of the function was released in this process. */
  released(functionId: string): void {
    const queue = this.waiting.get(functionId);
    if (!queue) return;
    const next = queue.shift();
    if (queue.length === 0) this.waiting.delete(functionId);
    next?.();
  }
}
