import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { functionLimits } from "@skiff/shared";
import { zipToTar } from "./zip-to-tar.js";

/** Fetches a function's zip by its hex sha256 (the api's /v1/agent/function-code/:sha256). */
export type FetchCode = (sha256: string) => Promise<Buffer>;

export class CodeIntegrityError extends Error {
  override name = "CodeIntegrityError";
}

/**
 * Function code as tars ready for putArchive, made once per code sha256 and kept under the
 * agent's state dir (so an agent restart does not fetch again), the most recent ones also in
 * memory (a warm start never reads the disk). Past `maxBytes` on disk the least recently used
 * tars go.
 */
export class CodeCache {
  private readonly inFlight = new Map<string, Promise<Buffer>>();
  /** Most recently used last. */
  private readonly memory = new Map<string, Buffer>();
  private memoryBytes = 0;

  constructor(
    private readonly dir: string,
    private readonly fetchCode: FetchCode,
    private readonly maxBytes: number,
    private readonly maxMemoryBytes = 64 * 1024 * 1024,
  ) {}

  /** The tar of this code, fetched, verified and converted when not cached yet. */
  tarOf(sha256: string): Promise<Buffer> {
    const cached = this.memory.get(sha256);
    if (cached) {
      this.memory.delete(sha256);
      this.memory.set(sha256, cached);
      return Promise.resolve(cached);
    }
    let work = this.inFlight.get(sha256);
    if (!work) {
      work = this.load(sha256).finally(() => this.inFlight.delete(sha256));
      this.inFlight.set(sha256, work);
    }
    return work;
  }

  private async load(sha256: string): Promise<Buffer> {
    const path = join(this.dir, `${sha256}.tar`);
    let tar: Buffer | undefined = await readFile(path).catch(() => undefined);
    if (tar) {
      const now = new Date();
      await utimes(path, now, now).catch(() => {});
    } else {
      const zip = await this.fetchCode(sha256);
      const actual = createHash("sha256").update(zip).digest("hex");
      if (actual !== sha256)
        throw new CodeIntegrityError(`code ${sha256} arrived with sha256 ${actual}`);
      const made = await zipToTar(zip, functionLimits.unzippedCodeBytes);
      tar = made;
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      // Written aside then renamed: a crash never leaves half a tar under the final name.
      const temporary = `${path}.${process.pid}.tmp`;
      await writeFile(temporary, made, { mode: 0o600 });
      await rename(temporary, path);
      await this.trim(sha256);
    }
    const result: Buffer = tar;
    this.remember(sha256, result);
    return result;
  }

  private remember(sha256: string, tar: Buffer): void {
    if (tar.length > this.maxMemoryBytes / 4) return;
    this.memory.set(sha256, tar);
    this.memoryBytes += tar.length;
    for (const [key, value] of this.memory) {
      if (this.memoryBytes <= this.maxMemoryBytes) break;
      this.memory.delete(key);
      this.memoryBytes -= value.length;
    }
  }

  /** Removes the least recently used tars (never `keep`) until the directory fits maxBytes. */
  private async trim(keep: string): Promise<void> {
    const files = await Promise.all(
      (await readdir(this.dir))
        .filter((name) => name.endsWith(".tar"))
        .map(async (name) => ({ name, info: await stat(join(this.dir, name)).catch(() => null) })),
    );
    const present = files.flatMap(({ name, info }) =>
      info ? [{ name, size: info.size, used: info.mtimeMs }] : [],
    );
    let total = present.reduce((sum, file) => sum + file.size, 0);
    for (const file of present.sort((a, b) => a.used - b.used)) {
      if (total <= this.maxBytes) break;
      if (file.name === `${keep}.tar`) continue;
      await rm(join(this.dir, file.name), { force: true });
      total -= file.size;
    }
  }
}
