/**
 * Delay before retry number `attempt` (0-based): exponential from `baseMs`, capped at `maxMs`,
 * with jitter so a fleet of agents that lost the api together does not come back in lockstep.
 */
export function backoffDelay(attempt: number, baseMs = 500, maxMs = 30_000): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(exponential / 2 + (Math.random() * exponential) / 2);
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects: loops check the signal). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
