import { readFile } from "node:fs/promises";

// The most memory an instance's container used, from its cgroup: one small file read, so an
// invocation's REPORT gets it without asking the engine (whose stats take a second to answer).
// Absent (the agent does not see the host's cgroups, e.g. in a container): undefined.

const candidates = (id: string) => [
  // cgroup v1 (cgroupfs, systemd)
  `/sys/fs/cgroup/memory/docker/${id}/memory.max_usage_in_bytes`,
  `/sys/fs/cgroup/memory/system.slice/docker-${id}.scope/memory.max_usage_in_bytes`,
  // cgroup v2 (systemd, cgroupfs); memory.peak needs Linux 5.19
  `/sys/fs/cgroup/system.slice/docker-${id}.scope/memory.peak`,
  `/sys/fs/cgroup/docker/${id}/memory.peak`,
];

export class MemoryPeak {
  private path: string | null | undefined;

  constructor(private readonly containerId: string) {}

  /** Peak bytes so far; undefined when no cgroup file can be read. */
  async bytes(): Promise<number | undefined> {
    if (this.path === null) return undefined;
    const paths = this.path ? [this.path] : candidates(this.containerId);
    for (const path of paths) {
      const text = await readFile(path, "utf8").catch(() => undefined);
      const value = Number(text?.trim());
      if (text !== undefined && Number.isFinite(value)) {
        this.path = path;
        return value;
      }
    }
    this.path = null;
    return undefined;
  }
}
