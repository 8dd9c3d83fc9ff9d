import type { Hash } from "node:crypto";

/** A running sha256 over the first `size` bytes of an upload, as written to the store. */
export interface RunningHash {
  hash: Hash;
  size: number;
}

/**
 * This process's running hashes of its uploads, so committing needs no second read of the
 * bytes. Each entry is dropped after `idleMs` untouched: a client that walks away must not keep
 * hash state alive on a replica that never runs the stale-upload purge. Losing an entry costs
 * only a read of the upload at commit.
 */
export class UploadHashes {
  private readonly entries = new Map<string, { running: RunningHash; timer: NodeJS.Timeout }>();

  constructor(private readonly idleMs: number) {}

  /** The entry for `id`, its idle timer restarted. */
  get(id: string): RunningHash | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    entry.timer.refresh();
    return entry.running;
  }

  set(id: string, running: RunningHash): void {
    this.delete(id);
    const timer = setTimeout(() => this.entries.delete(id), this.idleMs);
    timer.unref();
    this.entries.set(id, { running, timer });
  }

  delete(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.entries.delete(id);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Drops every entry and its timer (the server stops). */
  clear(): void {
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
    this.entries.clear();
  }
}
