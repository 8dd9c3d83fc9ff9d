import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { CopyObjectCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { z } from "zod";
import { copyInParts, maxCopyPartSize } from "./s3-copy.js";
import { safeId } from "./s3-keys.js";
import { isMissing, type S3Objects } from "./s3-objects.js";

/**
 * S3's smallest part but the last. Every chunk object of an upload except its last is at least
 * this large, so the commit can copy each one as a part of one multipart upload; a smaller last
 * chunk is merged into the next PATCH's object.
 */
export const minPartSize = 5 << 20;
/**
 * Part size and parallel parts of a PATCH's multipart upload: the registry holds about
 * (queue + 1) parts of each upload in memory, so this stays near the 5 MiB floor.
 */
const putPartSize = 8 << 20;
const putQueueSize = 2;

/** An upload's state, kept beside its bytes so any replica can continue it. */
const uploadStateSchema = z.object({
  chunks: z.array(z.object({ key: z.string(), size: z.number().int().min(0) })),
});
type UploadState = z.infer<typeof uploadStateSchema>;

/**
 * Uploads in progress, shared by every replica: an upload is a list of chunk objects under
 * `<prefix>uploads/<id>/`, named in its `state.json`. A PATCH streams its bytes into one new
 * object (a multipart upload when large) and then rewrites the state, so a PATCH cut short leaves
 * the upload as it was, and the next one may land on any replica. The commit copies the chunks
 * server-side into the blob's key (one CopyObject, or UploadPartCopy per chunk), which S3 makes
 * visible whole or not at all.
 */
export class S3Uploads {
  constructor(
    private readonly objects: S3Objects,
    /** The store's key prefix, empty or ending in `/`. */
    private readonly prefix: string,
  ) {}

  private get root(): string {
    return `${this.prefix}uploads/`;
  }

  private uploadPrefix(id: string): string {
    if (!safeId.test(id)) throw new Error(`bad upload id ${id}`);
    return `${this.root}${id}/`;
  }

  private async readState(id: string): Promise<UploadState | undefined> {
    const key = `${this.uploadPrefix(id)}state.json`;
    try {
      const response = await this.objects.client.send(
        new GetObjectCommand({ Bucket: this.objects.bucket, Key: key }),
      );
      const text = (await response.Body?.transformToString()) ?? "";
      return uploadStateSchema.parse(JSON.parse(text));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  private async writeState(id: string, state: UploadState): Promise<void> {
    await this.objects.client.send(
      new PutObjectCommand({
        Bucket: this.objects.bucket,
        Key: `${this.uploadPrefix(id)}state.json`,
        Body: JSON.stringify(state),
        ContentType: "application/json",
      }),
    );
  }

  async create(id: string): Promise<void> {
    await this.writeState(id, { chunks: [] });
  }

  async size(id: string): Promise<number | undefined> {
    const state = await this.readState(id);
    return state ? totalSize(state) : undefined;
  }

  async append(id: string, body: Readable, onChunk?: (chunk: Buffer) => void): Promise<number> {
    const state = await this.readState(id);
    if (!state) throw new Error(`upload ${id} is unknown`);
    const incoming = body[Symbol.asyncIterator]();
    const first = await incoming.next();
    // An empty PATCH changes nothing: no object, no state write.
    if (first.done) return totalSize(state);
    const last = state.chunks.at(-1);
    const merged = last && last.size < minPartSize ? last : undefined;
    // The small last chunk goes again, ahead of the new bytes, so no chunk but the last is
    // below S3's part minimum. It was hashed when it first came.
    const head = merged ? await this.objects.read(merged.key) : undefined;
    if (merged && head?.length !== merged.size) {
      throw new Error(`chunk ${merged.key} holds ${head?.length} bytes, not ${merged.size}`);
    }
    let added = 0;
    async function* bytes(): AsyncGenerator<Buffer> {
      if (head?.length) yield head;
      for (let next = first; !next.done; next = await incoming.next()) {
        const chunk = next.value as Buffer;
        onChunk?.(chunk);
        added += chunk.length;
        yield chunk;
      }
    }
    const key = `${this.uploadPrefix(id)}chunk-${randomBytes(8).toString("hex")}`;
    try {
      await new Upload({
        client: this.objects.client,
        params: {
          Bucket: this.objects.bucket,
          Key: key,
          Body: Readable.from(bytes(), { objectMode: false }),
          ContentType: "application/octet-stream",
        },
        partSize: putPartSize,
        queueSize: putQueueSize,
      }).done();
      const chunks = merged ? state.chunks.slice(0, -1) : [...state.chunks];
      chunks.push({ key, size: (merged?.size ?? 0) + added });
      // The state names the new object only now: until here the upload is what it was.
      await this.writeState(id, { chunks });
      if (merged) await this.objects.delete(merged.key).catch(() => {});
      return totalSize({ chunks });
    } catch (error) {
      // Whatever part of the object was stored is not named by the state; an object left by a
      // crash goes with the upload.
      await this.objects.delete(key).catch(() => {});
      throw error;
    }
  }

  read(id: string): Readable {
    const uploads = this;
    async function* bytes(): AsyncGenerator<Buffer> {
      const state = await uploads.readState(id);
      if (!state) throw new Error(`upload ${id} is unknown`);
      for (const chunk of state.chunks) yield* uploads.objects.bytes(chunk.key);
    }
    return Readable.from(bytes(), { objectMode: false });
  }

  /** Copies the upload's chunks into `target` (a blob's key), then deletes the upload. */
  async commit(id: string, target: string): Promise<void> {
    const state = await this.readState(id);
    if (!state) throw new Error(`upload ${id} is unknown`);
    const { client, bucket } = this.objects;
    const [only, ...more] = state.chunks;
    if (!only) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: target,
          Body: Buffer.alloc(0),
          ContentType: "application/octet-stream",
        }),
      );
    } else if (more.length === 0 && only.size <= maxCopyPartSize) {
      await client.send(
        new CopyObjectCommand({ Bucket: bucket, Key: target, CopySource: `${bucket}/${only.key}` }),
      );
    } else {
      await copyInParts(client, bucket, state.chunks, target);
    }
    // The blob is in place: an object left over here fails no push, and the stale upload purge
    // takes it later.
    await this.delete(id).catch(() => {});
  }

  async delete(id: string): Promise<void> {
    // By listing, not by the state: objects of PATCHes that died before the state named them
    // go too.
    const keys = await this.objects.list(this.uploadPrefix(id));
    // One DeleteObject each: DeleteObjects wants a checksum header that not every
    // S3-compatible service takes, and an upload has few objects.
    await Promise.all(keys.map((entry) => this.objects.delete(entry.key)));
  }

  /** Uploads whose newest object is older than `before`. */
  async listStale(before: Date): Promise<string[]> {
    const root = this.root;
    const newest = new Map<string, number>();
    for (const entry of await this.objects.list(root)) {
      const id = entry.key.slice(root.length).split("/")[0];
      // Keys under the prefix the store did not write are not its to delete.
      if (!id || !safeId.test(id)) continue;
      newest.set(id, Math.max(newest.get(id) ?? 0, entry.modified));
    }
    return [...newest].filter(([, modified]) => modified < before.getTime()).map(([id]) => id);
  }
}

function totalSize(state: UploadState): number {
  return state.chunks.reduce((sum, chunk) => sum + chunk.size, 0);
}
