/**
 * Passive health: a target whose connections are refused or reset `failures` times in a row is
 * left out for `ejectMs`, then tried again. No request waits on this; it only orders targets.
 */
export class PassiveHealth {
  private readonly failures = new Map<string, number>();
  private readonly ejectedUntil = new Map<string, number>();

  constructor(
    private readonly threshold = 3,
    private readonly ejectMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** A failed connection (refused, reset, connect timeout) to `url`. */
  failed(url: string): void {
    const count = (this.failures.get(url) ?? 0) + 1;
    if (count >= this.threshold) {
      this.failures.delete(url);
      this.ejectedUntil.set(url, this.now() + this.ejectMs);
    } else {
      this.failures.set(url, count);
    }
  }

  /** A response from `url`: its run of failures is over. */
  succeeded(url: string): void {
    if (this.failures.size > 0) this.failures.delete(url);
    if (this.ejectedUntil.size > 0) this.ejectedUntil.delete(url);
  }

  ejected(url: string): boolean {
    if (this.ejectedUntil.size === 0) return false;
    const until = this.ejectedUntil.get(url);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.ejectedUntil.delete(url);
    return false;
  }

  /**
   * The targets to try for one request, in order: round robin from `start`, ejected ones left
   * out unless every one is ejected (the last target is never ejected: a service answers what
   * it can rather than nothing).
   */
  order<T extends { url: string }>(targets: readonly T[], start: number): readonly T[] {
    // The common case, one target and none ejected, allocates nothing.
    if (targets.length === 1 && this.ejectedUntil.size === 0) return targets;
    const ordered: T[] = [];
    const n = targets.length;
    for (let i = 0; i < n; i++) {
      const target = targets[(start + i) % n] as T;
      if (!this.ejected(target.url)) ordered.push(target);
    }
    if (ordered.length > 0) return ordered;
    for (let i = 0; i < n; i++) ordered.push(targets[(start + i) % n] as T);
    return ordered;
  }
}
