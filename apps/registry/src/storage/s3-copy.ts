import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";

/** The largest object CopyObject copies, and the largest part UploadPartCopy copies: 5 GiB. */
export const maxCopyPartSize = 5 * 1024 ** 3;
/** S3's most parts in one multipart upload. */
const maxParts = 10_000;
/** Part copies in flight at once: each is a server-side copy, cheap for the registry. */
const copyConcurrency = 4;

export interface CopyRange {
  key: string;
  start: number;
  end: number;
}

/**
 * The parts that copy `chunks`, in order, into one object: each chunk whole, or cut into equal
 * ranges when it is over the 5 GiB part limit (each still far above the 5 MiB minimum).
 */
export function copyRanges(chunks: { key: string; size: number }[]): CopyRange[] {
  const ranges: CopyRange[] = [];
  for (const chunk of chunks) {
    const pieces = Math.max(1, Math.ceil(chunk.size / maxCopyPartSize));
    const piece = Math.ceil(chunk.size / pieces);
    for (let start = 0; start < chunk.size; start += piece) {
      ranges.push({ key: chunk.key, start, end: Math.min(chunk.size, start + piece) - 1 });
    }
  }
  if (ranges.length > maxParts) {
    throw new Error(`an upload of ${ranges.length} parts is over S3's ${maxParts}`);
  }
  return ranges;
}

/**
 * Copies `chunks`, concatenated, into `target` by a multipart upload of UploadPartCopy parts:
 * the bytes move inside S3, and `target` appears whole at the completion or not at all.
 */
export async function copyInParts(
  client: S3Client,
  bucket: string,
  chunks: { key: string; size: number }[],
  target: string,
): Promise<void> {
  const ranges = copyRanges(chunks);
  const created = await client.send(
    new CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: target,
      ContentType: "application/octet-stream",
    }),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error(`S3 started no multipart upload for ${target}`);
  try {
    const parts: { PartNumber: number; ETag: string }[] = new Array(ranges.length);
    let next = 0;
    const worker = async () => {
      for (let index = next++; index < ranges.length; index = next++) {
        const range = ranges[index] as CopyRange;
        const copied = await client.send(
          new UploadPartCopyCommand({
            Bucket: bucket,
            Key: target,
            UploadId: uploadId,
            PartNumber: index + 1,
            CopySource: `${bucket}/${range.key}`,
            CopySourceRange: `bytes=${range.start}-${range.end}`,
          }),
        );
        const etag = copied.CopyPartResult?.ETag;
        if (!etag) throw new Error(`S3 returned no ETag for part ${index + 1} of ${target}`);
        parts[index] = { PartNumber: index + 1, ETag: etag };
      }
    };
    await Promise.all(Array.from({ length: Math.min(copyConcurrency, ranges.length) }, worker));
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: target,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
  } catch (error) {
    // Parts of an abandoned multipart upload are billed until aborted; a service without
    // AbortMultipartUpload leaves them to the bucket's lifecycle rule.
    await client
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: target, UploadId: uploadId }))
      .catch(() => {});
    throw error;
  }
}
