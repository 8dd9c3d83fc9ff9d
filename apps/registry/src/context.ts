import type { RegistryDatabase } from "./db/client.js";
import type { UploadHashes } from "./services/upload-hashes.js";
import type { BlobStore } from "./storage/store.js";

/** What the registry logs through: pino's shape, so the api's logger fits as is. */
export interface RegistryLogger {
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
  debug?(object: object, message?: string): void;
}

/** A manifest push, for the hook that turns it into a Skiff event. */
export interface PushEvent {
  repository: string;
  tag: string | null;
  digest: string;
  mediaType: string;
  pushedAt: string;
}

/** Everything the registry's handlers and loops need, built once by whoever hosts it. */
export interface RegistryContext {
  db: RegistryDatabase;
  store: BlobStore;
  logger: RegistryLogger;
  /** Token endpoint clients are sent to: `<api public url>/v1/registry/token`. */
  realm: string;
  /** The token signing secret (shared with the api through the database). */
  secret: string;
  /** Running hashes of this process's uploads, so committing needs no second read of the bytes. */
  uploadHashes: UploadHashes;
  /** The largest blob an upload may grow to, in bytes (SIZE_INVALID beyond). */
  maxBlobBytes: number;
  /** Called after each manifest push is stored; failures are logged, never fail the push. */
  onPush?: (event: PushEvent) => Promise<void> | void;
}
