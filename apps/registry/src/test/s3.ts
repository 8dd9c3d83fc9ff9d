import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "@20minutes/s3rver";
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import type { BlobStoreConfig } from "../storage/create-store.js";
import { newS3Client } from "../storage/s3-client.js";

/** s3rver's built-in key pair: it checks every request's signature against it. */
const accessKeyId = "S3RVER";
const secretAccessKey = "S3RVER";

export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** A client of the server, to look at what the store left in the bucket. */
  client: S3Client;
  /** The store settings for this server, pulls by `pull`, keys under `prefix`. */
  config(pull: "redirect" | "stream", prefix?: string): BlobStoreConfig & { kind: "s3" };
  /** Every object in the bucket under `prefix`, by key, with its size. */
  objects(prefix?: string): Promise<{ key: string; size: number }[]>;
  /** Every key in the bucket under `prefix`. */
  keys(prefix?: string): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * A real S3-protocol server (s3rver, serving a temporary folder) on a free loopback port, with
 * one empty bucket.
 */
export async function startTestS3(): Promise<TestS3> {
  const directory = await mkdtemp(join(tmpdir(), "skiff-s3-"));
  const bucket = `skiff-test-${randomBytes(4).toString("hex")}`;
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    directory,
    silent: true,
    // s3rver signs bucket requests (listings) over `/bucket` where the SDK signs `/bucket/`,
    // and would refuse every listing; object requests it checks the same either way.
    allowMismatchedSignatures: true,
    configureBuckets: [{ name: bucket }],
  });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const connection = {
    region: "us-east-1",
    endpoint,
    forcePathStyle: true,
    accessKeyId,
    secretAccessKey,
  };
  const client = newS3Client(connection);
  return {
    endpoint,
    bucket,
    client,
    config: (pull, prefix = "registry/") => ({ kind: "s3", ...connection, bucket, prefix, pull }),
    async keys(prefix = "") {
      return (await objects(prefix)).map((object) => object.key);
    },
    objects,
    async close() {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };

  async function objects(prefix = "") {
    const found: { key: string; size: number }[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const entry of page.Contents ?? []) {
        if (entry.Key) found.push({ key: entry.Key, size: entry.Size ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found.sort((a, b) => a.key.localeCompare(b.key));
  }
}
