export * from "./api-tokens.js";
export * from "./nodes.js";
export * from "./pools.js";
export * from "./services.js";
export * from "./task-definitions.js";
export * from "./tasks.js";
