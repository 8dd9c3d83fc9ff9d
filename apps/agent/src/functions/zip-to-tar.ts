import type { Readable } from "node:stream";
import { pack as tarPack } from "tar-stream";
import yauzl from "yauzl";

// A function's zip as the tar the engine's putArchive takes, under `var/task/` (put at /, so the
// code lands at /var/task). Made once per code sha256 and cached (code-cache.ts). A thin layer
// over maintained parsers: yauzl reads the zip (and refuses absolute and `..` names itself),
// tar-stream writes the tar (long names as PAX or ustar prefixes). What is ours: the unzipped
// limit counted on the bytes that actually inflate (a zip bomb's headers lie), modes, symlinks.

export class BadZipError extends Error {
  override name = "BadZipError";
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** A safe relative path (no absolute path, no `..`), or undefined for the root itself. */
function safeName(name: string): string | undefined {
  if (name.startsWith("/")) throw new BadZipError(`zip entry ${name} is an absolute path`);
  const parts = name.split("/").filter((part) => part && part !== ".");
  if (parts.some((part) => part === ".."))
    throw new BadZipError(`zip entry ${name} points outside the code directory`);
  return parts.length ? parts.join("/") : undefined;
}

/** Unix mode (type and permission bits) when the zip was made on unix. */
function unixModeOf(entry: yauzl.Entry): number | undefined {
  const madeOnUnix = entry.versionMadeBy >> 8 === 3;
  const mode = entry.externalFileAttributes >>> 16;
  return madeOnUnix && mode ? mode : undefined;
}

/** Reads one entry's data, failing once the running total passes what is left of the limit. */
function readEntry(file: yauzl.ZipFile, entry: yauzl.Entry, budget: number): Promise<Buffer> {
  return new Promise((done, fail) => {
    file.openReadStream(entry, (error, stream: Readable) => {
      if (error) return fail(error);
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > budget) {
          stream.destroy();
          fail(new LimitError());
          return;
        }
        chunks.push(chunk);
      });
      stream.on("error", fail);
      stream.on("end", () => done(Buffer.concat(chunks)));
    });
  });
}

class LimitError extends Error {}

/** The zip's entries as a tar rooted at `var/task/`; rejects with BadZipError, or past `maxUnzipped`. */
export async function zipToTar(zip: Buffer, maxUnzipped: number): Promise<Buffer> {
  let file: yauzl.ZipFile;
  try {
    file = await yauzl.fromBufferPromise(zip, { lazyEntries: true, validateEntrySizes: true });
  } catch (error) {
    throw new BadZipError(`not a zip file (${messageOf(error)})`);
  }
  const tar = tarPack();
  const output: Buffer[] = [];
  tar.on("data", (chunk: unknown) => output.push(chunk as Buffer));
  const ended = new Promise<void>((done, fail) => {
    tar.on("end", done);
    tar.on("error", fail);
  });
  const add = (header: Parameters<typeof tar.entry>[0], data?: Buffer) =>
    new Promise<void>((done, fail) =>
      tar.entry(
        { uid: 0, gid: 0, mtime: new Date(0), ...header },
        data ?? Buffer.alloc(0),
        (error) => (error ? fail(error) : done()),
      ),
    );
  // /var itself too: minimal images (busybox) have none.
  await add({ name: "var/", type: "directory", mode: 0o755 });
  await add({ name: "var/task/", type: "directory", mode: 0o755 });
  const dirs = new Set<string>();
  let total = 0;
  try {
    for (let entry = await nextEntry(file); entry; entry = await nextEntry(file)) {
      const name = safeName(entry.fileName);
      if (!name) continue;
      const mode = unixModeOf(entry);
      const isDir = entry.fileName.endsWith("/") || (mode ?? 0) >> 12 === 0o04;
      // Parent directories a zip leaves out still need entries, readable by the runtime's user.
      const parts = name.split("/");
      for (let depth = 1; depth < parts.length + (isDir ? 1 : 0); depth++) {
        const dir = parts.slice(0, depth).join("/");
        if (dirs.has(dir)) continue;
        dirs.add(dir);
        await add({ name: `var/task/${dir}/`, type: "directory", mode: 0o755 });
      }
      if (isDir) continue;
      const data = await readEntry(file, entry, maxUnzipped - total);
      total += data.length;
      if (mode !== undefined && mode >> 12 === 0o12) {
        const linkname = data.toString("utf8");
        await add({ name: `var/task/${name}`, type: "symlink", mode: 0o777, linkname });
        continue;
      }
      // Without unix modes (zips made on Windows) a `bootstrap` must still be executable.
      const permissions =
        mode !== undefined
          ? (mode & 0o777) | 0o444
          : parts[parts.length - 1] === "bootstrap"
            ? 0o755
            : 0o644;
      await add({ name: `var/task/${name}`, type: "file", mode: permissions }, data);
    }
  } catch (error) {
    tar.destroy();
    if (error instanceof BadZipError) throw error;
    if (error instanceof LimitError)
      throw new BadZipError(`the unzipped code is larger than ${maxUnzipped} bytes`);
    throw new BadZipError(`corrupt zip: ${messageOf(error)}`);
  } finally {
    file.close();
  }
  tar.finalize();
  await ended;
  return Buffer.concat(output);
}

/** The next entry of a lazily read zip, or undefined at its end. */
function nextEntry(file: yauzl.ZipFile): Promise<yauzl.Entry | undefined> {
  return new Promise((done, fail) => {
    const cleanup = () => {
      file.off("entry", onEntry);
      file.off("end", onEnd);
      file.off("error", onError);
    };
    const onEntry = (entry: yauzl.Entry) => {
      cleanup();
      done(entry);
    };
    const onEnd = () => {
      cleanup();
      done(undefined);
    };
    const onError = (error: Error) => {
      cleanup();
      fail(error);
    };
    file.on("entry", onEntry);
    file.on("end", onEnd);
    file.on("error", onError);
    file.readEntry();
  });
}
