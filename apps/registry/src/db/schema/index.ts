export * from "./blobs.js";
export * from "./manifests.js";
export * from "./repositories.js";
export * from "./settings.js";
export * from "./tags.js";
export * from "./uploads.js";
