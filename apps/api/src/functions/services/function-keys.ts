// Redis keys of function instances and executions, shared by every api replica (functions.md).
// ioredis adds the install's SKIFF_REDIS_PREFIX to each of them; Lua scripts that build a key
// themselves are handed the prefix.

/** zset leaseId -> expiry ms: executions in flight of one function. */
export const functionBusyKey = (functionId: string) => `fn:${functionId}:busy`;
/** zset `<functionId> <leaseId>` -> expiry ms: executions in flight of every function. */
export const platformBusyKey = "fn:busy";
/** zset instanceId -> last use ms: idle instances of one revision of a function. */
export const idleKey = (functionId: string, revision: number) =>
  `fn:${functionId}:r${revision}:idle`;
/** hash functionId, revision, nodeId, url, memory: an instance, from its start until it is forgotten. */
export const instanceKeyPrefix = "fn:instance:";
export const instanceKey = (instanceId: string) => `${instanceKeyPrefix}${instanceId}`;
/** zset instanceId -> start ms: every instance the api knows of (the reaper walks it). */
export const instancesKey = "fn:instances";
/** MiB held by instances on a node (placement). */
export const nodeMemoryKeyPrefix = "fn:node:";
export const nodeMemoryKey = (nodeId: string) => `${nodeMemoryKeyPrefix}${nodeId}:memory`;
/** string with a TTL, refreshed while an api replica lives: its leases are dropped once it is gone. */
export const replicaKey = (replicaId: string) => `fn:replica:${replicaId}`;
/** pub/sub: a function's configuration or code changed, or it was deleted; payload functionId. */
export const functionChangedChannel = "fn:changed";
