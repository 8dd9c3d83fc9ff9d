import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

// PGlite serves one process at a time and has no lock of its own: a second process opening the
// same pgdata (a second `npm start`, or admin.js while Skiff runs) can corrupt it. The process
// using the embedded database holds this pid file for its whole life.

export const lockFileName = "skiff.pid";

/** Another live process holds the data directory. */
export class DataDirLockedError extends Error {
  override name = "DataDirLockedError";
}

export interface DataDirLock {
  readonly path: string;
  /** Removes the file if it is still this process's; safe to call twice. */
  release(): void;
}

/**
 * Whether `pid` is a live process that could be a Skiff. A pid can be reused (after a reboot, or
 * in a container where each start gets the same small pid), so on Linux a live pid counts only if
 * it runs node; our own pid is a leftover of an earlier life of this container.
 */
function holderAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive, but another user's.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("node");
  } catch {
    return true;
  }
}

function readPid(path: string): number | undefined {
  try {
    return Number(readFileSync(path, "utf8").trim());
  } catch {
    return undefined;
  }
}

/**
 * Takes `dataDir`/skiff.pid (created with O_EXCL), or takes it over when the pid in it is dead.
 * Throws DataDirLockedError, naming the holder, when another live process has it.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, lockFileName);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: "wx" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = readPid(path);
      if (holder !== undefined && holderAlive(holder)) {
        throw new DataDirLockedError(
          `${dir} is in use by process ${holder} (${path}): the embedded database serves one process at a time; stop that Skiff first, or set DATABASE_URL`,
        );
      }
      // Left by a process that is gone: take it over.
      try {
        unlinkSync(path);
      } catch (unlinkError) {
        if ((unlinkError as NodeJS.ErrnoException).code !== "ENOENT") throw unlinkError;
      }
      continue;
    }
    // Two processes taking over the same stale file at once: only the one whose pid stayed wins.
    if (readPid(path) !== process.pid) continue;
    let released = false;
    return {
      path,
      release() {
        if (released) return;
        released = true;
        if (readPid(path) === process.pid) unlinkSync(path);
      },
    };
  }
  throw new DataDirLockedError(`${dir}: could not take ${path}; another process keeps taking it`);
}
