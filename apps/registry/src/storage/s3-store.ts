import { Readable } from "node:stream";
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { safeDigest, safePrefix } from "./s3-keys.js";
import { isMissing, S3Objects } from "./s3-objects.js";
import { S3Uploads } from "./s3-uploads.js";
import type { BlobStore } from "./store.js";

/** How long a redirect to a presigned URL stays usable: S3 checks it when a download starts. */
const presignSeconds = 20 * 60;

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
 * Blobs in an S3-compatible bucket at `<prefix>blobs/<algorithm>/<hex>`; uploads in progress
 * under `<prefix>uploads/`, shared by every replica (s3-uploads.ts).
 */
export class S3BlobStore implements BlobStore {
  private readonly objects: S3Objects;
  private readonly uploads: S3Uploads;
  private readonly presignClient: S3Client;
  private readonly prefix: string;
  private readonly pull: "redirect" | "stream";

  constructor(options: S3BlobStoreOptions) {
    const prefix = options.prefix?.replace(/^\/+/, "") ?? "";
    if (!safePrefix.test(prefix)) throw new Error(`bad S3 key prefix ${prefix}`);
    this.objects = new S3Objects(options.client, options.bucket);
    this.presignClient = options.presignClient ?? options.client;
    this.prefix = prefix && !prefix.endsWith("/") ? `${prefix}/` : prefix;
    this.uploads = new S3Uploads(this.objects, this.prefix);
    this.pull = options.pull;
  }

  private get bucket(): string {
    return this.objects.bucket;
  }

  /** Fails at boot, not at the first push, when the bucket is missing or the keys are wrong. */
  async init(): Promise<void> {
    try {
      // A listing, not HeadBucket: the store needs ListBucket anyway, and not every
      // S3-compatible service answers HeadBucket.
      await this.objects.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, MaxKeys: 1 }),
      );
    } catch (error) {
      throw new Error(`S3 bucket ${this.bucket} is not reachable: ${describeFailure(error)}`);
    }
  }

  private blobKey(digest: string): string {
    const match = safeDigest.exec(digest);
    if (!match?.[1] || !match[2]) throw new Error(`bad digest ${digest}`);
    return `${this.prefix}blobs/${match[1]}/${match[2]}`;
  }

  createUpload(id: string): Promise<void> {
    return this.uploads.create(id);
  }

  uploadSize(id: string): Promise<number | undefined> {
    return this.uploads.size(id);
  }

  appendUpload(id: string, body: Readable, onChunk?: (chunk: Buffer) => void): Promise<number> {
    return this.uploads.append(id, body, onChunk);
  }

  readUpload(id: string): Readable {
    return this.uploads.read(id);
  }

  commitUpload(id: string, digest: string): Promise<void> {
    return this.uploads.commit(id, this.blobKey(digest));
  }

  deleteUpload(id: string): Promise<void> {
    return this.uploads.delete(id);
  }

  listStaleUploads(before: Date): Promise<string[]> {
    return this.uploads.listStale(before);
  }

  async stat(digest: string): Promise<number | undefined> {
    try {
      const head = await this.objects.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }),
      );
      return head.ContentLength;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  read(digest: string, range?: { start: number; end: number }): Readable {
    return Readable.from(this.objects.bytes(this.blobKey(digest), range), { objectMode: false });
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
    await this.objects.delete(this.blobKey(digest));
  }
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
