import type { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";

/** The object calls the blob store and its upload sessions both make, in one bucket. */
export class S3Objects {
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
  ) {}

  async *bytes(key: string, range?: { start: number; end: number }): AsyncGenerator<Buffer> {
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

  async read(key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.bytes(key)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async list(prefix: string): Promise<{ key: string; modified: number }[]> {
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

/** A missing key or object, as S3 and its look-alikes report it. */
export function isMissing(error: unknown): boolean {
  const failure = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (failure.name === "NoSuchBucket") return false;
  return (
    failure.name === "NoSuchKey" ||
    failure.name === "NotFound" ||
    failure.$metadata?.httpStatusCode === 404
  );
}
