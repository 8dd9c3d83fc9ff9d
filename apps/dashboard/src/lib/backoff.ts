/**
 * How long to wait before the next poll: the interval while calls succeed; after failures, twice
 * as long per failure up to `maxMs`, so a struggling API is not hammered by every open tab.
 */
export function nextPollDelay(intervalMs: number, failures: number, maxMs = 30_000): number {
  if (failures <= 0) return intervalMs;
  return Math.min(maxMs, intervalMs * 2 ** Math.min(failures, 16));
}
