import { FsBlobStore } from "./fs-store.js";
import type { S3Connection } from "./s3-client.js";
import type { BlobStore } from "./store.js";

/** Where a registry keeps its blobs: a directory, or a bucket that replicas share. */
export type BlobStoreConfig =
  | { kind: "fs"; dataDir: string }
  | (S3Connection & {
      kind: "s3";
      bucket: string;
      prefix: string;
      pull: "redirect" | "stream";
      /** The service's URL as pulling clients reach it, for redirects; `endpoint` when unset. */
      publicEndpoint?: string;
    });

/** The configured store, checked (directories made, bucket reached) before the first push. */
export async function createBlobStore(config: BlobStoreConfig): Promise<BlobStore> {
  if (config.kind === "fs") {
    const store = new FsBlobStore(config.dataDir);
    await store.init();
    return store;
  }
  // Loaded only for S3: the AWS SDK is large and slow to import, a start-up cost that a
  // filesystem registry (and every api start) would pay for nothing.
  const { newS3Client } = await import("./s3-client.js");
  const { S3BlobStore } = await import("./s3-store.js");
  const client = newS3Client(config);
  const store = new S3BlobStore({
    client,
    bucket: config.bucket,
    prefix: config.prefix,
    pull: config.pull,
    ...(config.publicEndpoint
      ? { presignClient: newS3Client({ ...config, endpoint: config.publicEndpoint }) }
      : {}),
  });
  await store.init();
  return store;
}
