import { inflateRawSync } from "node:zlib";

// A function's zip as the tar the engine's putArchive takes, under `var/task/` (put at /, so the
// code lands at /var/task). Made once per code sha256 and cached (code-cache.ts). Only what
// Lambda's zips hold: stored and deflated entries, files, directories and symlinks; no zip64
// (Lambda's limits keep zips far below 4 GB).

export class BadZipError extends Error {
  override name = "BadZipError";
}

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  /** Unix mode (type and permission bits) when the zip was made on unix. */
  unixMode: number | undefined;
}

const eocdSignature = 0x06054b50;
const centralSignature = 0x02014b50;
const localSignature = 0x04034b50;

function centralDirectory(zip: Buffer): ZipEntry[] {
  // The end record sits in the last 22 bytes plus at most a 64 KB comment.
  let eocd = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 65_535); at--) {
    if (zip.readUInt32LE(at) === eocdSignature) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw new BadZipError("not a zip file (no end of central directory)");
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let index = 0; index < count; index++) {
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== centralSignature)
      throw new BadZipError("corrupt zip central directory");
    const madeOnUnix = zip.readUInt8(at + 5) === 3;
    const nameLength = zip.readUInt16LE(at + 28);
    const external = zip.readUInt32LE(at + 38);
    entries.push({
      method: zip.readUInt16LE(at + 10),
      compressedSize: zip.readUInt32LE(at + 20),
      size: zip.readUInt32LE(at + 24),
      localOffset: zip.readUInt32LE(at + 42),
      name: zip.toString("utf8", at + 46, at + 46 + nameLength),
      unixMode: madeOnUnix && external >>> 16 ? external >>> 16 : undefined,
    });
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return entries;
}

function entryData(zip: Buffer, entry: ZipEntry, budget: number): Buffer {
  const at = entry.localOffset;
  if (at + 30 > zip.length || zip.readUInt32LE(at) !== localSignature)
    throw new BadZipError(`corrupt zip entry ${entry.name}`);
  const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
  const raw = zip.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) return raw;
  if (entry.method !== 8)
    throw new BadZipError(`zip entry ${entry.name} uses compression method ${entry.method}`);
  try {
    // The declared size may lie: the output is capped by what is left of the unzipped limit.
    return inflateRawSync(raw, { maxOutputLength: Math.max(1, budget) });
  } catch (error) {
    throw new BadZipError(`cannot inflate ${entry.name}: ${(error as Error).message}`);
  }
}

/** A safe relative path (no absolute path, no `..`), or undefined for the root itself. */
function safeName(name: string): string | undefined {
  const parts = name
    .replace(/\\/g, "/")
    .split("/")
    .filter((part) => part && part !== ".");
  if (parts.some((part) => part === ".."))
    throw new BadZipError(`zip entry ${name} points outside the code directory`);
  return parts.length ? parts.join("/") : undefined;
}

/** The zip's entries as a tar rooted at `var/task/`; throws BadZipError, or past `maxUnzipped`. */
export function zipToTar(zip: Buffer, maxUnzipped: number): Buffer {
  // /var itself too: minimal images (busybox) have none.
  const blocks: Buffer[] = [
    tarEntry("var/", 0o755, "5", Buffer.alloc(0)),
    tarEntry("var/task/", 0o755, "5", Buffer.alloc(0)),
  ];
  let total = 0;
  const dirs = new Set<string>();
  for (const entry of centralDirectory(zip)) {
    const name = safeName(entry.name);
    if (!name) continue;
    const isDir = entry.name.endsWith("/") || (entry.unixMode ?? 0) >> 12 === 0o04;
    // Parent directories a zip leaves out still need entries, readable by the runtime's user.
    const parts = name.split("/");
    for (let depth = 1; depth < parts.length + (isDir ? 1 : 0); depth++) {
      const dir = parts.slice(0, depth).join("/");
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      blocks.push(tarEntry(`var/task/${dir}/`, 0o755, "5", Buffer.alloc(0)));
    }
    if (isDir) continue;
    const data = entryData(zip, entry, maxUnzipped - total);
    total += data.length;
    if (total > maxUnzipped)
      throw new BadZipError(`the unzipped code is larger than ${maxUnzipped} bytes`);
    const mode = entry.unixMode;
    if (mode !== undefined && mode >> 12 === 0o12) {
      blocks.push(tarEntry(`var/task/${name}`, 0o777, "2", Buffer.alloc(0), data.toString("utf8")));
      continue;
    }
    // Without unix modes (zips made on Windows) a `bootstrap` must still be executable.
    const permissions =
      mode !== undefined
        ? (mode & 0o777) | 0o444
        : parts[parts.length - 1] === "bootstrap"
          ? 0o755
          : 0o644;
    blocks.push(tarEntry(`var/task/${name}`, permissions, "0", data));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

function header(name: string, mode: number, type: string, size: number, link: string): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, "utf8");
  block.write(octal(mode, 8), 100);
  block.write(octal(0, 8), 108);
  block.write(octal(0, 8), 116);
  block.write(octal(size, 12), 124);
  block.write(octal(0, 12), 136);
  block.write("        ", 148);
  block.write(type, 156);
  block.write(link, 157, 100, "utf8");
  block.write("ustar\u000000", 257);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return block;
}

function padded(data: Buffer): Buffer[] {
  const rest = data.length % 512;
  return rest ? [data, Buffer.alloc(512 - rest)] : [data];
}

/** One tar entry; names or links past ustar's 100 bytes go in a PAX header before it. */
function tarEntry(name: string, mode: number, type: string, data: Buffer, link = ""): Buffer {
  const parts: Buffer[] = [];
  if (Buffer.byteLength(name) > 99 || Buffer.byteLength(link) > 99) {
    const records = [`path=${name}`, ...(link ? [`linkpath=${link}`] : [])].map((record) => {
      // The length prefix counts itself.
      let length = Buffer.byteLength(record) + 3;
      while (Buffer.byteLength(`${length} ${record}\n`) !== length) length++;
      return `${length} ${record}\n`;
    });
    const pax = Buffer.from(records.join(""));
    parts.push(header("PaxHeader", 0o644, "x", pax.length, ""), ...padded(pax));
  }
  parts.push(
    header(name.slice(0, 99), mode, type, data.length, link.slice(0, 99)),
    ...padded(data),
  );
  return Buffer.concat(parts);
}
