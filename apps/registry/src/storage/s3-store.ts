import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { z } from "zod";
import { copyInParts, maxCopyPartSize } from "./s3-copy.js";
import type { BlobStore } from "./store.js";

const safeId = /^[A-Za-z0-9_-]{1,100}$/;
const safeDigest = /^(sha256|sha512):([a-f0-9]{64,128})$/;
/** Keys the store writes are plain ASCII, so a prefix of these needs no URL escaping anywhere. */
export const safePrefix = /^[A-Za-z0-9._/-]{0,200}$/;
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
/** How long a redirect to a presigned URL stays usable: S3 checks it when a download starts. */
const presignSeconds = 20 * 60;

/** An upload's state, kept beside its bytes so any replica can continue it. */
const uploadStateSchema = z.object({
  chunks: z.array(z.object({ key: z.string(), size: z.number().int().min(0) })),
});
type UploadState = z.infer<typeof uploadStateSchema>;

export interface S3BlobStoreOptions {
  client: S3Client;
  bucket: string;
  /** Prepended to every key (`registry/`); empty for the bucket's root. */
  prefix?: string;
  /**
   * `redirect`: a GET of a blob answers 307 to a presigned URL and the client downloads from
   * S3; `stream`: the registry streams the bytes itself.
   */
  pull: "redirect" | "stream";
  /** Signs redirect URLs, when clients reach S3 at another address than the registry does. */
  presignClient?: S3Client;
}

/**
 * Blobs in an S3-compatible bucket at `<prefix>blobs/<algorithm>/<hex>`.
 *
 * An upload is a list of chunk objects under `<prefix>uploads/<id>/`, named in its
 * `state.json`: a PATCH streams its bytes into one new object (a multipart upload when large)
 * and then rewrites the state, so a PATCH cut short leaves the upload as it was, and the next
 * one may land on any replica. The commit copies the chunks server-side into the blob's key
 * (one CopyObject, or UploadPartCopy per chunk), which S3 makes visible whole or not at all.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly presignClient: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly pull: "redirect" | "stream";

  constructor(options: S3BlobStoreOptions) {
    const prefix = options.prefix?.replace(/^\/+/, "") ?? "";
    if (!safePrefix.test(prefix)) throw new Error(`bad S3 key prefix ${prefix}`);
    this.client = options.client;
    this.presignClient = options.presignClient ?? options.client;
    this.bucket = options.bucket;
    this.prefix = prefix && !prefix.endsWith("/") ? `${prefix}/` : prefix;
    this.pull = options.pull;
  }

  /** Fails at boot, not at the first push, when the bucket is missing or the keys are wrong. */
  async init(): Promise<void> {
    try {
      // A listing, not HeadBucket: the store needs ListBucket anyway, and not every
      // S3-compatible service answers HeadBucket.
      await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, MaxKeys: 1 }),
      );
    } catch (error) {
      throw new Error(`S3 bucket ${this.bucket} is not reachable: ${describeFailure(error)}`);
    }
  }

  private uploadPrefix(id: string): string {
    if (!safeId.test(id)) throw new Error(`bad upload id ${id}`);
    return `${this.prefix}uploads/${id}/`;
  }

  private blobKey(digest: string): string {
    const match = safeDigest.exec(digest);
    if (!match?.[1] || !match[2]) throw new Error(`bad digest ${digest}`);
    return `${this.prefix}blobs/${match[1]}/${match[2]}`;
  }

  private async readState(id: string): Promise<UploadState | undefined> {
    const key = `${this.uploadPrefix(id)}state.json`;
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key }),
      );
      const text = (await response.Body?.transformToString()) ?? "";
      return uploadStateSchema.parse(JSON.parse(text));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  private async writeState(id: string, state: UploadState): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: `${this.uploadPrefix(id)}state.json`,
        Body: JSON.stringify(state),
        ContentType: "application/json",
      }),
    );
  }

  async createUpload(id: string): Promise<void> {
    await this.writeState(id, { chunks: [] });
  }

  async uploadSize(id: string): Promise<number | undefined> {
    const state = await this.readState(id);
    return state ? totalSize(state) : undefined;
  }

  async appendUpload(
    id: string,
    body: Readable,
    onChunk?: (chunk: Buffer) => void,
  ): Promise<number> {
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
    const head = merged ? await this.readObject(merged.key) : undefined;
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
        client: this.client,
        params: {
          Bucket: this.bucket,
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
      if (merged) await this.deleteObject(merged.key).catch(() => {});
      return totalSize({ chunks });
    } catch (error) {
      // Whatever part of the object was stored is not named by the state; an object left by a
      // crash goes with the upload.
      await this.deleteObject(key).catch(() => {});
      throw error;
    }
  }

  readUpload(id: string): Readable {
    const store = this;
    async function* bytes(): AsyncGenerator<Buffer> {
      const state = await store.readState(id);
      if (!state) throw new Error(`upload ${id} is unknown`);
      for (const chunk of state.chunks) yield* store.objectBytes(chunk.key);
    }
    return Readable.from(bytes(), { objectMode: false });
  }

  async commitUpload(id: string, digest: string): Promise<void> {
    const state = await this.readState(id);
    if (!state) throw new Error(`upload ${id} is unknown`);
    const target = this.blobKey(digest);
    const [only, ...more] = state.chunks;
    if (!only) {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: target,
          Body: Buffer.alloc(0),
          ContentType: "application/octet-stream",
        }),
      );
    } else if (more.length === 0 && only.size <= maxCopyPartSize) {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: target,
          CopySource: `${this.bucket}/${only.key}`,
        }),
      );
    } else {
      await copyInParts(this.client, this.bucket, state.chunks, target);
    }
    // The blob is in place: an object left over here fails no push, and the stale upload purge
    // takes it later.
    await this.deleteUpload(id).catch(() => {});
  }

  async deleteUpload(id: string): Promise<void> {
    // By listing, not by the state: objects of PATCHes that died before the state named them
    // go too.
    const keys = await this.listKeys(this.uploadPrefix(id));
    // One DeleteObject each: DeleteObjects wants a checksum header that not every
    // S3-compatible service takes, and an upload has few objects.
    await Promise.all(keys.map((entry) => this.deleteObject(entry.key)));
  }

  async listStaleUploads(before: Date): Promise<string[]> {
    const root = `${this.prefix}uploads/`;
    const newest = new Map<string, number>();
    for (const entry of await this.listKeys(root)) {
      const id = entry.key.slice(root.length).split("/")[0];
      // Keys under the prefix the store did not write are not its to delete.
      if (!id || !safeId.test(id)) continue;
      newest.set(id, Math.max(newest.get(id) ?? 0, entry.modified));
    }
    return [...newest].filter(([, modified]) => modified < before.getTime()).map(([id]) => id);
  }

  async stat(digest: string): Promise<number | undefined> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }),
      );
      return head.ContentLength;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  read(digest: string, range?: { start: number; end: number }): Readable {
    return Readable.from(this.objectBytes(this.blobKey(digest), range), { objectMode: false });
  }

  async downloadUrl(digest: string): Promise<string | undefined> {
    if (this.pull !== "redirect") return undefined;
    return getSignedUrl(
      this.presignClient,
      new GetObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }),
      { expiresIn: presignSeconds },
    );
  }

  async delete(digest: string): Promise<void> {
    await this.deleteObject(this.blobKey(digest));
  }

  private async *objectBytes(
    key: string,
    range?: { start: number; end: number },
  ): AsyncGenerator<Buffer> {
    const response = await this.client.send(
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      }),
    );
    if (!response.Body) throw new Error(`${key} has no body`);
    yield* response.Body as Readable;
  }

  private async readObject(key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.objectBytes(key)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  private async deleteObject(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  private async listKeys(prefix: string): Promise<{ key: string; modified: number }[]> {
    const keys: { key: string; modified: number }[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const entry of page.Contents ?? []) {
        if (entry.Key) keys.push({ key: entry.Key, modified: entry.LastModified?.getTime() ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }
}

function totalSize(state: UploadState): number {
  return state.chunks.reduce((sum, chunk) => sum + chunk.size, 0);
}

/** A missing key or object, as S3 and its look-alikes report it. */
function isMissing(error: unknown): boolean {
  const failure = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (failure.name === "NoSuchBucket") return false;
  return (
    failure.name === "NoSuchKey" ||
    failure.name === "NotFound" ||
    failure.$metadata?.httpStatusCode === 404
  );
}

/** An SDK error in a line, without the request (which carries a signature). */
function describeFailure(error: unknown): string {
  const failure = error as {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const status = failure.$metadata?.httpStatusCode;
  return `${failure.name ?? "Error"}${status ? ` (${status})` : ""}: ${failure.message ?? ""}`;
}
