import { join } from "node:path";
import { type ServerType, serve } from "@hono/node-server";
import { newRegistryApp } from "./app.js";
import { ensureSigningSecret } from "./auth/signing-secret.js";
import type { PushEvent, RegistryContext, RegistryLogger } from "./context.js";
import type { RegistryDatabase } from "./db/client.js";
import { collectGarbage } from "./services/gc.js";
import { applyLifecycleRules } from "./services/lifecycle.js";
import { UploadHashes } from "./services/upload-hashes.js";
import { purgeStaleUploads } from "./services/uploads.js";
import { FsBlobStore } from "./storage/fs-store.js";
import type { BlobStore } from "./storage/store.js";

export interface RegistryServerOptions {
  db: RegistryDatabase;
  /** Blob storage root (a filesystem store) or a store of your own. */
  dataDir: string;
  store?: BlobStore;
  port: number;
  host?: string;
  /** The api's token endpoint, e.g. `http://localhost:3000/v1/registry/token`. */
  realm: string;
  logger: RegistryLogger;
  onPush?: (event: PushEvent) => Promise<void> | void;
  /** How often the collector, the lifecycle rules and the upload purge run. */
  maintenanceIntervalMs?: number;
  /** Blobs a push used within this window are never collected. */
  gcGraceMs?: number;
  /** Uploads untouched this long are dropped. */
  uploadMaxAgeMs?: number;
  /** The largest blob an upload may grow to, in bytes. */
  maxBlobBytes?: number;
  /**
   * A running upload hash untouched this long is dropped from memory, on every replica (the
   * commit then reads the upload again).
   */
  uploadHashIdleMs?: number;
  /**
   * Runs `work` unless another replica holds the lock `key`, resolving to whether it ran (a
   * PostgreSQL try-lock): the scheduled passes then run on one replica at a time. Without it
   * every process makes every pass, which suits one process (PGlite).
   */
  exclusive?: (key: string, work: () => Promise<void>) => Promise<boolean>;
}

/** The default largest blob: above the biggest layers real images carry (ECR takes up to 52 GB). */
export const defaultMaxBlobBytes = 20 * 1024 ** 3;
const defaultUploadHashIdleMs = 15 * 60_000;

/** The lock scheduled maintenance passes take, so replicas do not all make the same pass. */
export const maintenanceLockKey = "skiff:registry:maintenance";

export interface RegistryServer {
  port: number;
  context: RegistryContext;
  /** One maintenance pass now (tests, and the loop). */
  maintain(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Serves the registry on `port` (0 picks a free one) and runs its maintenance on a setTimeout
 * chain, on one replica at a time when `exclusive` is given.
 */
export async function startRegistryServer(options: RegistryServerOptions): Promise<RegistryServer> {
  let store = options.store;
  if (!store) {
    const fsStore = new FsBlobStore(join(options.dataDir));
    await fsStore.init();
    store = fsStore;
  }
  const context: RegistryContext = {
    db: options.db,
    store,
    logger: options.logger,
    realm: options.realm,
    secret: await ensureSigningSecret(options.db),
    uploadHashes: new UploadHashes(options.uploadHashIdleMs ?? defaultUploadHashIdleMs),
    maxBlobBytes: options.maxBlobBytes ?? defaultMaxBlobBytes,
    ...(options.onPush ? { onPush: options.onPush } : {}),
  };
  const app = newRegistryApp(context);
  const server = await new Promise<ServerType>((listening) => {
    const started: ServerType = serve(
      { fetch: app.fetch, port: options.port, hostname: options.host ?? "0.0.0.0" },
      () => listening(started),
    );
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  // Large layers stream for minutes: no request timeout, keep-alive as the clients like it.
  if ("requestTimeout" in server) server.requestTimeout = 0;

  const maintain = async () => {
    await purgeStaleUploads(context, options.uploadMaxAgeMs ?? 24 * 3600_000);
    await applyLifecycleRules(context.db);
    await collectGarbage(context, { graceMs: options.gcGraceMs ?? 3600_000 });
  };
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<unknown> | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      pass = (options.exclusive ? options.exclusive(maintenanceLockKey, maintain) : maintain())
        .catch((error) => options.logger.error({ err: error }, "registry maintenance failed"))
        .finally(schedule);
    }, options.maintenanceIntervalMs ?? 60_000);
    timer.unref();
  };
  schedule();
  options.logger.info({ port }, "skiff registry listening");

  return {
    port,
    context,
    maintain,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await pass;
      await new Promise<void>((closed) => {
        server.close(() => closed());
        if ("closeIdleConnections" in server) server.closeIdleConnections();
      });
      context.uploadHashes.clear();
    },
  };
}
