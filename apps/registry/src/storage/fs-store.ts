import { createReadStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { sendFile } from "./send-file.js";
import type { BlobStore } from "./store.js";

const safeId = /^[A-Za-z0-9_-]{1,100}$/;
const safeDigest = /^(sha256|sha512):([a-f0-9]{64,128})$/;
/** Bytes an upload takes in between two of its background flushes to disk. */
const backgroundSyncBytes = 4 << 20;

/**
 * Blobs as files under `root`: `blobs/<algorithm>/<first two hex>/<hex>`, uploads under
 * `uploads/<id>`. Both sit on one filesystem, so committing an upload is a rename: a reader sees
 * the whole blob or none of it.
 */
export class FsBlobStore implements BlobStore {
  private readonly uploads: string;
  private readonly blobs: string;

  constructor(root: string) {
    this.uploads = join(root, "uploads");
    this.blobs = join(root, "blobs");
  }

  async init(): Promise<void> {
    await mkdir(this.uploads, { recursive: true });
    await mkdir(this.blobs, { recursive: true });
  }

  private uploadPath(id: string): string {
    if (!safeId.test(id)) throw new Error(`bad upload id ${id}`);
    return join(this.uploads, id);
  }

  private blobPath(digest: string): string {
    const match = safeDigest.exec(digest);
    if (!match?.[1] || !match[2]) throw new Error(`bad digest ${digest}`);
    return join(this.blobs, match[1], match[2].slice(0, 2), match[2]);
  }

  async createUpload(id: string): Promise<void> {
    await writeFile(this.uploadPath(id), "", { flag: "wx" });
  }

  async uploadSize(id: string): Promise<number | undefined> {
    try {
      return (await stat(this.uploadPath(id))).size;
    } catch {
      return undefined;
    }
  }

  async appendUpload(
    id: string,
    body: Readable,
    onChunk?: (chunk: Buffer) => void,
  ): Promise<number> {
    const path = this.uploadPath(id);
    // Written at explicit offsets from the size found here, never in append mode: the bytes
    // land where the caller's running hash says they are.
    const out = await open(path, "r+");
    const before = (await out.stat()).size;
    let written = before;
    let writing: Promise<void> = Promise.resolve();
    // The commit fsyncs the upload before the push is acknowledged. Flushing it to disk as it
    // arrives, one fdatasync at a time in the background, leaves that fsync only the last few
    // MiB, and the disk writes while the network delivers instead of after it.
    let syncing: Promise<void> | undefined;
    let unsynced = 0;
    const syncInBackground = () => {
      if (syncing || unsynced < backgroundSyncBytes) return;
      unsynced = 0;
      syncing = out
        .datasync()
        // The commit's own fsync reports what went wrong.
        .catch(() => {})
        .then(() => {
          syncing = undefined;
        });
    };
    try {
      // Sockets deliver 4-64 KiB at a time: chunks are gathered into one writev per MiB, and
      // the next MiB is read while the last one is written, so the socket never waits on the
      // disk (pausing it stalls the sender's TCP window) and nothing is copied.
      let batch: Buffer[] = [];
      let batched = 0;
      const writeAll = async (chunks: Buffer[], size: number) => {
        const at = written;
        let done = (await out.writev(chunks, at)).bytesWritten;
        // A short write is rare on files, but possible: the rest goes after it.
        if (done < size) {
          const rest = Buffer.concat(chunks, size).subarray(done);
          const start = done;
          while (done < size) {
            done += (await out.write(rest, done - start, size - done, at + done)).bytesWritten;
          }
        }
        written += size;
        unsynced += size;
        syncInBackground();
        // Only now, in order: the caller hashes what is on disk, never what is still buffered.
        for (const chunk of chunks) onChunk?.(chunk);
      };
      const flush = () => {
        if (batched === 0) return;
        const chunks = batch;
        const size = batched;
        batch = [];
        batched = 0;
        writing = writing.then(() => writeAll(chunks, size));
        // Awaited later; until then a failure must not count as unhandled.
        writing.catch(() => {});
      };
      for await (const chunk of body) {
        const buffer = chunk as Buffer;
        batch.push(buffer);
        batched += buffer.length;
        if (batched >= 1 << 20) {
          await writing;
          flush();
        }
      }
      flush();
      await writing;
    } catch (error) {
      // A cut connection must not leave half a chunk the client will send again; a write still
      // in flight lands first.
      await writing.catch(() => {});
      await out.truncate(before).catch(() => {});
      throw error;
    } finally {
      await syncing;
      await out.close();
    }
    return written;
  }

  readUpload(id: string): Readable {
    return createReadStream(this.uploadPath(id), { highWaterMark: 1 << 20 });
  }

  async commitUpload(id: string, digest: string): Promise<void> {
    const source = this.uploadPath(id);
    const target = this.blobPath(digest);
    // On disk before it is visible, and its name too before the push is acknowledged: after a
    // power cut the database must not name a blob whose file is empty or gone.
    await syncPath(source);
    const created = await mkdir(dirname(target), { recursive: true });
    await rename(source, target);
    // The new entry's directory, and each directory mkdir made on the way, up to the one
    // that already existed.
    const stop = created ? dirname(created) : dirname(target);
    for (let dir = dirname(target); ; dir = dirname(dir)) {
      await syncPath(dir);
      if (dir === stop) break;
    }
  }

  async deleteUpload(id: string): Promise<void> {
    await rm(this.uploadPath(id), { force: true });
  }

  async listStaleUploads(before: Date): Promise<string[]> {
    const stale: string[] = [];
    for (const name of await readdir(this.uploads)) {
      const info = await stat(join(this.uploads, name)).catch(() => undefined);
      if (info && info.mtime < before) stale.push(name);
    }
    return stale;
  }

  async stat(digest: string): Promise<number | undefined> {
    try {
      return (await stat(this.blobPath(digest))).size;
    } catch {
      return undefined;
    }
  }

  read(digest: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.blobPath(digest), {
      highWaterMark: 1 << 20,
      ...(range ? { start: range.start, end: range.end } : {}),
    });
  }

  send(digest: string, out: Writable, range: { start: number; end: number }): Promise<void> {
    return sendFile(this.blobPath(digest), out, range);
  }

  async delete(digest: string): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }
}

/** fsync(2) of a file or a directory. */
async function syncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
