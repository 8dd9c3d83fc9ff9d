import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

/** Another live Skiff process already uses this SKIFF_DATA_DIR. */
export class DataDirInUseError extends Error {
  override name = "DataDirInUseError";
}

export interface DataDirLock {
  release(): void;
}

/**
 * Claims `dataDir` for this process (a pid file), for as long as it runs the embedded PGlite
 * database or Redis there: both serve exactly one process, and a second one opening the same
 * files would corrupt them. A pid file left by a process that died is taken over.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const path = resolve(dir, "skiff.pid");
  const claim = () => writeFileSync(path, `${process.pid}\n`, { flag: "wx" });
  try {
    claim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const holder = readHolder(path);
    if (holder !== undefined && holder !== process.pid && isAlive(holder)) throw inUse(dir, holder);
    // Left by a process that is gone: take it over. A racing start loses on the second claim.
    unlinkSync(path);
    try {
      claim();
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code === "EEXIST") throw inUse(dir, readHolder(path));
      throw again;
    }
  }
  return {
    release() {
      if (readHolder(path) === process.pid) unlinkSync(path);
    },
  };
}

function inUse(dir: string, pid: number | undefined): DataDirInUseError {
  return new DataDirInUseError(
    `${dir} is in use by another Skiff process${pid ? ` (pid ${pid})` : ""}: the embedded database and Redis serve one process; stop it, use another SKIFF_DATA_DIR, or set DATABASE_URL and REDIS_URL to run several api replicas`,
  );
}

function readHolder(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is a live process that could be a Skiff. A pid can be reused (after a reboot, or
 * in a container where each start gets the same small pid), so on Linux a live pid counts only
 * while it runs node.
 */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, under another user.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("node");
  } catch {
    return true;
  }
}
