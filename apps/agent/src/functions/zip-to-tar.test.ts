import { crc32, deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { BadZipError, zipToTar } from "./zip-to-tar.js";

interface Entry {
  name: string;
  data?: string;
  /** Unix mode bits (type and permissions); absent: made on Windows. */
  mode?: number;
  deflate?: boolean;
}

/** A zip as zip tools write one: deflated or stored entries, unix modes when given. */
function makeZip(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const raw = Buffer.from(entry.data ?? "");
    const data = entry.deflate ? deflateRawSync(raw) : raw;
    const name = Buffer.from(entry.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(entry.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc32(raw), 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(name.length, 26);
    const record = Buffer.alloc(46);
    record.writeUInt32LE(0x02014b50, 0);
    record.writeUInt16LE(entry.mode === undefined ? 20 : 0x0314, 4);
    record.writeUInt16LE(entry.deflate ? 8 : 0, 10);
    record.writeUInt32LE(crc32(raw), 16);
    record.writeUInt32LE(data.length, 20);
    record.writeUInt32LE(raw.length, 24);
    record.writeUInt16LE(name.length, 28);
    record.writeUInt32LE(((entry.mode ?? 0) << 16) >>> 0, 38);
    record.writeUInt32LE(offset, 42);
    parts.push(local, name, data);
    central.push(record, name);
    offset += 30 + name.length + data.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, directory, end]);
}

/** Reads a tar back: names (PAX paths applied), modes, types, contents, links. */
function readTar(tar: Buffer) {
  const files: { name: string; mode: number; type: string; data: string; link: string }[] = [];
  let at = 0;
  let paxPath: string | undefined;
  while (at + 512 <= tar.length && tar[at] !== 0) {
    const text = (start: number, length: number) =>
      tar.toString("utf8", at + start, at + start + length).replace(/\0.*$/s, "");
    const size = Number.parseInt(text(124, 12), 8);
    const type = text(156, 1);
    const data = tar.subarray(at + 512, at + 512 + size);
    if (type === "x") {
      paxPath = /path=(.*)\n/.exec(data.toString())?.[1];
    } else {
      // ustar splits a long name into a prefix (at 345) and the rest.
      const prefix = text(345, 155);
      files.push({
        name: paxPath ?? (prefix ? `${prefix}/${text(0, 100)}` : text(0, 100)),
        mode: Number.parseInt(text(100, 8), 8),
        type,
        data: data.toString(),
        link: text(157, 100),
      });
      paxPath = undefined;
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

describe("zipToTar", () => {
  it("puts a zip's files under var/task with their modes, deflated or stored", async () => {
    const long = `lib/${"a".repeat(120)}.js`;
    const tar = await zipToTar(
      makeZip([
        { name: "index.mjs", data: "export const handler = 1;", mode: 0o100644, deflate: true },
        { name: "bootstrap", data: "#!/bin/sh\n", mode: 0o100755 },
        { name: "node_modules/x/index.js", data: "module.exports = 2;", mode: 0o100600 },
        { name: long, data: "long", deflate: true },
        { name: "current", data: "index.mjs", mode: 0o120777 },
      ]),
      1024 * 1024,
    );
    const files = readTar(tar);
    const byName = new Map(files.map((file) => [file.name, file]));
    expect(byName.get("var/task/")?.type).toBe("5");
    expect(byName.get("var/task/index.mjs")).toMatchObject({
      data: "export const handler = 1;",
      mode: 0o644,
    });
    expect(byName.get("var/task/bootstrap")?.mode).toBe(0o755);
    // Readable by whatever user the runtime runs as.
    expect(byName.get("var/task/node_modules/x/index.js")?.mode).toBe(0o644);
    expect(byName.get("var/task/node_modules/")?.type).toBe("5");
    expect(byName.get(`var/task/${long}`)?.data).toBe("long");
    expect(byName.get("var/task/current")).toMatchObject({ type: "2", link: "index.mjs" });
  });

  it("makes a bootstrap executable when the zip carries no unix modes", async () => {
    const files = readTar(
      await zipToTar(makeZip([{ name: "bootstrap", data: "#!/bin/sh" }]), 1024),
    );
    expect(files.find((file) => file.name === "var/task/bootstrap")?.mode).toBe(0o755);
  });

  it("refuses entries outside the code directory, non-zips and code past the unzipped limit", async () => {
    await expect(zipToTar(makeZip([{ name: "../etc/passwd", data: "x" }]), 1024)).rejects.toThrow(
      BadZipError,
    );
    await expect(zipToTar(makeZip([{ name: "/etc/passwd", data: "x" }]), 1024)).rejects.toThrow(
      BadZipError,
    );
    await expect(zipToTar(Buffer.from("not a zip at all, no"), 1024)).rejects.toThrow(BadZipError);
    const bomb = makeZip([{ name: "big", data: "0".repeat(100_000), deflate: true }]);
    await expect(zipToTar(bomb, 10_000)).rejects.toThrow(/larger than 10000 bytes/);
  });
});
