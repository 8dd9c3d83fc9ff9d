import type { Readable, Writable } from "node:stream";

/**
 * Where blob bytes live. Blobs are content-addressed and immutable; uploads are written to a
 * private area and only become visible, whole, through `commitUpload`. Drivers: `FsBlobStore`
 * (a directory) and `S3BlobStore` (an S3-compatible bucket).
 */
export interface BlobStore {
  /** Starts an empty upload. */
  createUpload(id: string): Promise<void>;
  /** Bytes received so far, or undefined when the upload does not exist. */
  uploadSize(id: string): Promise<number | undefined>;
  /**
   * Appends `body` at the end of the upload, streaming, and returns the new size. `onChunk` sees
   * the bytes (to hash them) in order and only once they are written at their offset, never
   * while still buffered. When `onChunk` throws, the append fails with that error. A failed
   * append leaves the upload at its previous size (what `onChunk` saw of it is void). The caller
   * guarantees one append or commit at a time per upload (a claim in the database).
   */
  appendUpload(id: string, body: Readable, onChunk?: (chunk: Buffer) => void): Promise<number>;
  /** Reads the upload from the start (to hash it when no running hash is at hand). */
  readUpload(id: string): Readable;
  /** Moves the upload into place as `digest`, atomically; replaces an identical blob. */
  commitUpload(id: string, digest: string): Promise<void>;
  deleteUpload(id: string): Promise<void>;
  /** Uploads last written before `before`. */
  listStaleUploads(before: Date): Promise<string[]>;
  /** Size of a stored blob, or undefined when absent. */
  stat(digest: string): Promise<number | undefined>;
  /** The bytes of a blob, or of the inclusive range `start..end`. */
  read(digest: string, range?: { start: number; end: number }): Readable;
  /**
   * Writes the bytes of a blob (or of a range) to `out` and ends it: what `read` does, for
   * stores that can do it cheaper than a stream of fresh buffers.
   */
  send?(digest: string, out: Writable, range: { start: number; end: number }): Promise<void>;
  /**
   * A URL the client may download the blob from itself (a GET of it answers 307 there, and the
   * client sends its `Range` along), or undefined to have the registry stream it.
   */
  downloadUrl?(digest: string): Promise<string | undefined>;
  delete(digest: string): Promise<void>;
}
