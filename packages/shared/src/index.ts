export * from "./client.js";
export * from "./errors.js";
export * from "./ids.js";
export * from "./names.js";
export * from "./schemas/health.js";
export * from "./schemas/pagination.js";
export * from "./schemas/tokens.js";
export * from "./units.js";
