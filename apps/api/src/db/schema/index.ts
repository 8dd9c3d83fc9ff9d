export * from "../../auth/schema/api-tokens.js";
export * from "../../compute/schema/cluster.js";
export * from "../../compute/schema/nodes.js";
export * from "../../compute/schema/pools.js";
export * from "../../compute/schema/services.js";
export * from "../../compute/schema/task-definitions.js";
export * from "../../compute/schema/tasks.js";
export * from "../../secrets/schema/secrets.js";
