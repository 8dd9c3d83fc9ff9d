export * from "../../auth/schema/api-tokens.js";
export * from "../../compute/schema/nodes.js";
export * from "../../compute/schema/pools.js";
export * from "../../compute/schema/services.js";
export * from "../../compute/schema/task-definitions.js";
export * from "../../compute/schema/tasks.js";
export * from "../../usage/schema/task-usage.js";
export * from "../../usage/schema/usage-totals.js";
