export { newRegistryApp } from "./app.js";
export { type IssuedToken, issueRegistryToken, type RegistryAction } from "./auth/issue.js";
export { type Access, signToken, tokenService, verifyToken } from "./auth/jwt.js";
export { ensureSigningSecret } from "./auth/signing-secret.js";
export type { PushEvent, RegistryContext, RegistryLogger } from "./context.js";
export { withAdvisoryLock, withAdvisoryTryLock } from "./db/advisory-lock.js";
export type { RegistryDatabase } from "./db/client.js";
export {
  type MigratableDatabase,
  registryMigrationsFolder,
  runRegistryMigrations,
} from "./db/migrate.js";
export { queryRows } from "./db/rows.js";
export * as registrySchema from "./db/schema/index.js";
export { blobStoreConfig, registryStorageEnv } from "./env.js";
export { eventsStream, redisPushHook } from "./events.js";
export { isValidName, isValidTag } from "./names.js";
export { type RegistryServer, type RegistryServerOptions, startRegistryServer } from "./server.js";
export { collectGarbage } from "./services/gc.js";
export { applyLifecycleRules } from "./services/lifecycle.js";
export {
  deleteReference,
  getRepository,
  listRepositories,
  listTags,
  type RepositoryChanges,
  type RepositorySummary,
  type TagSummary,
  updateRepository,
} from "./services/management.js";
export { type BlobStoreConfig, createBlobStore } from "./storage/create-store.js";
export { FsBlobStore } from "./storage/fs-store.js";
export type { BlobStore } from "./storage/store.js";
