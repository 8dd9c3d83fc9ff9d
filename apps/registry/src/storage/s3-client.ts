import { S3Client } from "@aws-sdk/client-s3";

/** Where an S3-compatible service is and how to sign for it. */
export interface S3Connection {
  /** AWS region, or whatever the service accepts (MinIO and Garage take any). */
  region: string;
  /** The service's URL; AWS's own endpoint for `region` when unset. */
  endpoint?: string;
  /** `<endpoint>/<bucket>/<key>` rather than `<bucket>.<endpoint>/<key>`: MinIO, Ceph, Garage. */
  forcePathStyle: boolean;
  /** Both, or neither: then the SDK's chain (AWS_* variables, profile, instance role). */
  accessKeyId?: string;
  secretAccessKey?: string;
}

/** An S3 client for `connection`, set to what every S3-compatible service takes. */
export function newS3Client(connection: S3Connection): S3Client {
  return new S3Client({
    region: connection.region,
    ...(connection.endpoint ? { endpoint: connection.endpoint } : {}),
    forcePathStyle: connection.forcePathStyle,
    ...(connection.accessKeyId && connection.secretAccessKey
      ? {
          credentials: {
            accessKeyId: connection.accessKeyId,
            secretAccessKey: connection.secretAccessKey,
          },
        }
      : {}),
    // AWS checks a CRC32 of every upload against the bytes it stores. Services of other makers
    // (an endpoint is set) may refuse those headers: there the payload's signed SHA-256 (plain
    // HTTP) or TLS guards the bytes in transit.
    ...(connection.endpoint
      ? { requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED" }
      : {}),
  });
}
