import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import {
  functionBusyKey,
  idleKey,
  instanceKey,
  instanceKeyPrefix,
  instancesKey,
  nodeMemoryKey,
  platformBusyKey,
  replicaKey,
} from "./function-keys.js";
import { LuaScript } from "./lua-script.js";

// Which instance runs an invocation, decided in Redis so every api replica shares one view.
// Each decision is one Lua script (one round trip, atomic): no replica can hand an idle
// instance to two invocations, or let two invocations past the last unit of concurrency.
//
// Executions in flight are leases (zset member -> expiry), not counters: a replica that dies
// mid-invocation never releases its leases, and they expire at the function's deadline plus a
// margin, so the count heals by itself (acquire drops expired leases before counting).

const acquireScript = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local reserved = tonumber(ARGV[3])
if reserved >= 0 and redis.call('ZCARD', KEYS[1]) >= reserved then return {'throttled', 'reserved'} end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return {'throttled', 'platform'} end
local expiry = now + tonumber(ARGV[5])
redis.call('ZADD', KEYS[1], expiry, ARGV[1])
redis.call('ZADD', KEYS[2], expiry, ARGV[2] .. ' ' .. ARGV[1])
local busy = tostring(redis.call('ZCARD', KEYS[1]))
while true do
  local popped = redis.call('ZPOPMAX', KEYS[3])
  if #popped == 0 then return {'cold', busy} end
  local fields = redis.call('HMGET', ARGV[6] .. popped[1], 'nodeId', 'url')
  -- An instance forgotten (its node stopped listing it) while idle: skip it.
  if fields[1] then return {'warm', busy, popped[1], fields[1], fields[2]} end
end
`);

const releaseScript = new LuaScript(`
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2] .. ' ' .. ARGV[1])
if ARGV[3] == '' then return 0 end
if ARGV[4] == '1' then
  local held = redis.call('HMGET', KEYS[4], 'nodeId', 'memory')
  if held[1] then
    local key = ARGV[5] .. held[1] .. ':memory'
    if redis.call('DECRBY', key, tonumber(held[2])) <= 0 then redis.call('DEL', key) end
  end
  redis.call('DEL', KEYS[4])
  redis.call('ZREM', KEYS[5], ARGV[3])
  redis.call('ZREM', KEYS[3], ARGV[3])
  return 2
end
if redis.call('EXISTS', KEYS[4]) == 0 then return 0 end
local t = redis.call('TIME')
redis.call('ZADD', KEYS[3], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), ARGV[3])
return 1
`);

// Claims room on a node for a new instance: fails when the node's memory (capacity less
// what its tasks hold, passed in) would be overcommitted by the instances of all replicas.
const registerScript = new LuaScript(`
local held = tonumber(redis.call('GET', KEYS[1]) or '0')
if held + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'functionId', ARGV[3], 'revision', ARGV[4], 'nodeId', ARGV[5], 'url', ARGV[6], 'memory', ARGV[1])
local t = redis.call('TIME')
redis.call('ZADD', KEYS[3], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), ARGV[7])
return 1
`);

// Forgets an instance (stopped, lost, or reaped): its hash, its node memory, its idle entry.
const forgetScript = new LuaScript(`
local held = redis.call('HMGET', KEYS[1], 'nodeId', 'memory', 'functionId', 'revision')
if held[1] then
  local key = ARGV[2] .. held[1] .. ':memory'
  if redis.call('DECRBY', key, tonumber(held[2])) <= 0 then redis.call('DEL', key) end
  redis.call('ZREM', ARGV[3] .. held[3] .. ':r' .. held[4] .. ':idle', ARGV[1])
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return held[1] and 1 or 0
`);

export type Throttle = "reserved" | "platform";

/** MiB that function instances hold on each node (all replicas' instances), from Redis. */
export async function instanceMemoryOn(
  redis: Redis,
  nodeIds: string[],
): Promise<Map<string, number>> {
  const held = new Map<string, number>();
  if (nodeIds.length === 0) return held;
  const values = await redis.mget(...nodeIds.map(nodeMemoryKey));
  nodeIds.forEach((id, index) => {
    held.set(id, Number(values[index] ?? 0));
  });
  return held;
}

export interface Lease {
  leaseId: string;
  functionId: string;
  revision: number;
  /** Executions of the function in flight, this one included. */
  busy: number;
  /** When Redis drops the lease (this process's clock; a little later in Redis's). */
  expiresAt: number;
}

export type Acquired =
  | { kind: "throttled"; reason: Throttle }
  | { kind: "cold"; lease: Lease }
  | { kind: "warm"; lease: Lease; instance: { instanceId: string; nodeId: string; url: string } };

export interface InstanceRecord {
  instanceId: string;
  functionId: string;
  revision: number;
  nodeId: string;
  url: string;
  memory: number;
}

export interface RouterLimits {
  /** SKIFF_FUNCTION_CONCURRENCY: executions in flight of all functions together. */
  platformConcurrency: number;
  /** Added to a function's timeout for a lease's life: a cold start and the round trips. */
  leaseMarginMs: number;
  /**
   * How long a replica counts as alive after its last word (refreshed at a third of it): the
   * reaper drops the leases of a replica gone longer, long before they would expire.
   */
  replicaTtlMs?: number;
}

/** The Redis side of routing: acquire, release, register and forget instances. */
export class FunctionRouter {
  private readonly prefix: string;
  /** This process's leases are `<replicaId>.<uuid>`: the reaper tells whose they are. */
  private readonly replicaId = randomUUID().slice(0, 13);
  private readonly replicaTtlMs: number;
  private heartbeat: NodeJS.Timeout | undefined;
  private alive: Promise<unknown> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly limits: RouterLimits,
  ) {
    this.prefix = redis.options.keyPrefix ?? "";
    this.replicaTtlMs = limits.replicaTtlMs ?? 15_000;
  }

  /** Stops saying this replica lives; its leases still in Redis are then healed by the reaper. */
  close(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /** Says this replica lives before its first lease, then on a timer while the process runs. */
  private announce(): Promise<unknown> {
    if (!this.alive) {
      const beat = () => this.redis.set(replicaKey(this.replicaId), "1", "PX", this.replicaTtlMs);
      this.alive = beat();
      this.heartbeat ??= setInterval(() => {
        beat().catch(() => {});
      }, this.replicaTtlMs / 3);
      this.heartbeat.unref();
    }
    return this.alive;
  }

  async acquire(fn: {
    id: string;
    revision: number;
    timeout: number;
    reservedConcurrency: number | null;
  }): Promise<Acquired> {
    await this.announce().catch(() => {
      this.alive = undefined;
    });
    const leaseId = `${this.replicaId}.${randomUUID()}`;
    const lifeMs = fn.timeout * 1000 + this.limits.leaseMarginMs;
    const expiresAt = Date.now() + lifeMs;
    const reply = (await acquireScript.run(
      this.redis,
      3,
      functionBusyKey(fn.id),
      platformBusyKey,
      idleKey(fn.id, fn.revision),
      leaseId,
      fn.id,
      fn.reservedConcurrency ?? -1,
      this.limits.platformConcurrency,
      lifeMs,
      this.prefix + instanceKeyPrefix,
    )) as string[];
    if (reply[0] === "throttled") return { kind: "throttled", reason: reply[1] as Throttle };
    const lease = {
      leaseId,
      functionId: fn.id,
      revision: fn.revision,
      busy: Number(reply[1]),
      expiresAt,
    };
    if (reply[0] === "cold") return { kind: "cold", lease };
    return {
      kind: "warm",
      lease,
      instance: { instanceId: reply[2] ?? "", nodeId: reply[3] ?? "", url: reply[4] ?? "" },
    };
  }

  /**
   * Whether a lease lives long enough for one more invocation of `timeoutSeconds` to run under it
   * (handed on to a waiting caller) with half the margin left.
   */
  outlives(lease: Lease, timeoutSeconds: number): boolean {
    return lease.expiresAt - Date.now() > timeoutSeconds * 1000 + this.limits.leaseMarginMs / 2;
  }

  /**
   * Ends an execution: the instance goes back to the idle set with the time, unless `retire`
   * (it is gone, or serves an older revision), then it is forgotten and its memory freed.
   */
  async release(lease: Lease, instanceId: string | undefined, retire: boolean): Promise<void> {
    await releaseScript.run(
      this.redis,
      5,
      functionBusyKey(lease.functionId),
      platformBusyKey,
      idleKey(lease.functionId, lease.revision),
      instanceKey(instanceId ?? "none"),
      instancesKey,
      lease.leaseId,
      lease.functionId,
      instanceId ?? "",
      retire ? "1" : "0",
      `${this.prefix}fn:node:`,
    );
  }

  /** Claims `memory` MiB on a node for a new instance; false when the node has no room. */
  async register(instance: InstanceRecord, nodeMemoryLimit: number): Promise<boolean> {
    const done = await registerScript.run(
      this.redis,
      3,
      nodeMemoryKey(instance.nodeId),
      instanceKey(instance.instanceId),
      instancesKey,
      instance.memory,
      nodeMemoryLimit,
      instance.functionId,
      instance.revision,
      instance.nodeId,
      instance.url,
      instance.instanceId,
    );
    return done === 1;
  }

  /** Forgets an instance whatever its state; true when it was known. */
  async forget(instanceId: string): Promise<boolean> {
    const done = await forgetScript.run(
      this.redis,
      2,
      instanceKey(instanceId),
      instancesKey,
      instanceId,
      `${this.prefix}fn:node:`,
      `${this.prefix}fn:`,
    );
    return done === 1;
  }

  /** Takes an idle instance out of its idle set; true: the caller owns it (and must stop it). */
  async claimIdle(functionId: string, revision: number, instanceId: string): Promise<boolean> {
    return (await this.redis.zrem(idleKey(functionId, revision), instanceId)) === 1;
  }

  /** MiB held by instances on each node. */
  nodeMemory(nodeIds: string[]): Promise<Map<string, number>> {
    return instanceMemoryOn(this.redis, nodeIds);
  }

  /** Executions in flight of a function (leases not yet expired). */
  async busy(functionId: string): Promise<number> {
    return this.redis.zcount(functionBusyKey(functionId), Date.now(), "+inf");
  }

  /**
   * Drops the leases of executions no replica will release (the reaper's part of healing a
   * crashed replica's): those of replicas no longer alive, and any expired.
   */
  async healLeases(): Promise<number> {
    const now = Date.now();
    const members = await this.redis.zrange(platformBusyKey, 0, -1, "WITHSCORES");
    const leases: { member: string; functionId: string; leaseId: string; replica: string }[] = [];
    const expired: typeof leases = [];
    for (let index = 0; index < members.length; index += 2) {
      const member = members[index] ?? "";
      const [functionId = "", leaseId = ""] = member.split(" ");
      const lease = { member, functionId, leaseId, replica: leaseId.split(".")[0] ?? "" };
      if (Number(members[index + 1]) <= now) expired.push(lease);
      else if (leaseId.includes(".")) leases.push(lease);
    }
    const replicas = [...new Set(leases.map((lease) => lease.replica))];
    const living = replicas.length ? await this.redis.mget(...replicas.map(replicaKey)) : [];
    const gone = new Set(replicas.filter((_, index) => living[index] === null));
    const dropped = [...expired, ...leases.filter((lease) => gone.has(lease.replica))];
    if (dropped.length === 0) return 0;
    const pipeline = this.redis.pipeline();
    for (const lease of dropped) {
      pipeline.zrem(functionBusyKey(lease.functionId), lease.leaseId);
      pipeline.zrem(platformBusyKey, lease.member);
    }
    await pipeline.exec();
    return dropped.length;
  }

  /** The instances placed on a node, with when they were registered. */
  async instancesOfNode(nodeId: string): Promise<{ instanceId: string; startedMs: number }[]> {
    const entries = await this.redis.zrange(instancesKey, 0, -1, "WITHSCORES");
    const ids: { instanceId: string; startedMs: number }[] = [];
    for (let index = 0; index < entries.length; index += 2)
      ids.push({ instanceId: entries[index] ?? "", startedMs: Number(entries[index + 1]) });
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const { instanceId } of ids) pipeline.hget(instanceKey(instanceId), "nodeId");
    const nodesOf = (await pipeline.exec()) ?? [];
    return ids.filter((_, index) => nodesOf[index]?.[1] === nodeId);
  }

  /** Every known instance with its record; the reaper's walk. */
  async instances(): Promise<(InstanceRecord & { lastUsedMs: number | null })[]> {
    const ids = await this.redis.zrange(instancesKey, 0, -1);
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(instanceKey(id));
    const hashes = (await pipeline.exec()) ?? [];
    const records: InstanceRecord[] = [];
    ids.forEach((id, index) => {
      const hash = hashes[index]?.[1] as Record<string, string> | undefined;
      if (!hash?.nodeId) return;
      records.push({
        instanceId: id,
        functionId: hash.functionId ?? "",
        revision: Number(hash.revision),
        nodeId: hash.nodeId,
        url: hash.url ?? "",
        memory: Number(hash.memory),
      });
    });
    const scores = this.redis.pipeline();
    for (const record of records)
      scores.zscore(idleKey(record.functionId, record.revision), record.instanceId);
    const lastUsed = (await scores.exec()) ?? [];
    return records.map((record, index) => {
      const score = lastUsed[index]?.[1] as string | null | undefined;
      return { ...record, lastUsedMs: score == null ? null : Number(score) };
    });
  }
}
