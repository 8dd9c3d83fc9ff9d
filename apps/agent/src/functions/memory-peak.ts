import { closeSync, openSync, readSync } from "node:fs";
import type { Readable } from "node:stream";

// The most memory an instance's container used, for an invocation's REPORT, without adding to
// the invoke: from its cgroup when the agent sees the host's cgroups (one small file read), else
// from the engine's stats stream (about one document a second), followed in the background
// from the container's start and kept as a running maximum. An agent in a container sees no
// host cgroups: it gets the stream.

const candidates = (root: string, id: string) => [
  // cgroup v1 (cgroupfs, systemd)
  `${root}/memory/docker/${id}/memory.max_usage_in_bytes`,
  `${root}/memory/system.slice/docker-${id}.scope/memory.max_usage_in_bytes`,
  // cgroup v2 (systemd, cgroupfs); memory.peak needs Linux 5.19
  `${root}/system.slice/docker-${id}.scope/memory.peak`,
  `${root}/docker/${id}/memory.peak`,
];

/** One document of the engine's stats stream, the fields read here. */
interface StatsDocument {
  memory_stats?: {
    usage?: number;
    max_usage?: number;
    stats?: { inactive_file?: number; total_inactive_file?: number };
  };
}

/** Bytes in use per a stats document, as `docker stats` counts them (less inactive page cache). */
export function usedBytesOf(document: StatsDocument): number | undefined {
  const memory = document.memory_stats;
  if (!memory?.usage) return undefined;
  const inactive = memory.stats?.total_inactive_file ?? memory.stats?.inactive_file ?? 0;
  const used = memory.usage - (inactive < memory.usage ? inactive : 0);
  // cgroup v1 keeps its own peak; v2's stream has only the current usage.
  return Math.max(used, memory.max_usage ?? 0);
}

export class MemoryPeak {
  /**
   * The cgroup file's descriptor, kept open: each invocation's read is then one pread, not four
   * calls. Read synchronously: a cgroup file is rendered from memory in microseconds, a tenth of
   * what a promise's round trip through libuv's thread pool costs the invoke path.
   */
  private fd: number | null | undefined;
  private readonly buffer = Buffer.alloc(32);
  private streamed: number | undefined;
  private stream: Readable | undefined;
  private closed = false;

  constructor(
    private readonly containerId: string,
    /** The engine's stats stream of this container (the fallback). */
    private readonly followStats?: () => Promise<Readable>,
    private readonly cgroupRoot = "/sys/fs/cgroup",
  ) {}

  /** Finds the cgroup file, or starts following the stats stream when there is none. */
  async watch(): Promise<void> {
    if (this.cgroupBytes() !== undefined || !this.followStats) return;
    const stream = await this.followStats();
    if (this.closed) {
      stream.destroy();
      return;
    }
    this.stream = stream;
    let pending = "";
    stream.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        newline = pending.indexOf("\n");
        if (!line) continue;
        try {
          const used = usedBytesOf(JSON.parse(line) as StatsDocument);
          if (used !== undefined) this.streamed = Math.max(this.streamed ?? 0, used);
        } catch {
          // A torn or foreign line: the next document comes within a second.
        }
      }
    });
    stream.on("error", () => {});
  }

  /** Peak bytes so far; undefined when neither the cgroup nor the stream has told yet. */
  bytes(): number | undefined {
    return this.cgroupBytes() ?? this.streamed;
  }

  close(): void {
    this.closed = true;
    this.stream?.destroy();
    if (typeof this.fd === "number") closeSync(this.fd);
    this.fd = null;
  }

  private cgroupBytes(): number | undefined {
    if (typeof this.fd === "number") return this.read(this.fd);
    if (this.fd === null) return undefined;
    for (const path of candidates(this.cgroupRoot, this.containerId)) {
      let fd: number;
      try {
        fd = openSync(path, "r");
      } catch {
        continue;
      }
      const value = this.read(fd);
      if (value === undefined || this.closed) closeSync(fd);
      else this.fd = fd;
      if (value !== undefined) return value;
    }
    this.fd = null;
    return undefined;
  }

  /** The number in a cgroup file, read again from its start (the kernel renders it anew). */
  private read(fd: number): number | undefined {
    let bytesRead: number;
    try {
      bytesRead = readSync(fd, this.buffer, 0, this.buffer.length, 0);
    } catch {
      return undefined;
    }
    if (bytesRead <= 0) return undefined;
    const value = Number(this.buffer.toString("latin1", 0, bytesRead).trim());
    return Number.isFinite(value) ? value : undefined;
  }
}
