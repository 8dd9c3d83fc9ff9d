import { BlockList, isIP } from "node:net";
import { nodeAddressSchema } from "@skiff/shared";
import { and, eq, isNotNull } from "drizzle-orm";
import type { Redis } from "ioredis";
import { targetsChannel } from "../compute/services/assignment-notifier.js";
import type { Database } from "../db/client.js";
import { nodes, services, taskDefinitions, tasks } from "../db/schema/index.js";
import type { Logger } from "../lib/logger.js";
import { ReloadedTable } from "./reloaded-table.js";

export interface Target {
  taskId: string;
  /** e.g. http://10.0.0.5:49153 */
  url: string;
}

/**
 * Addresses the gateway never connects to, whatever a row says: link-local (cloud metadata at
 * 169.254.169.254), unspecified and multicast. Loopback stays: the all-in-one's node is 127.0.0.1.
 * (IPv4-mapped IPv6 addresses are checked against the IPv4 rules by BlockList.)
 */
const neverTargets = new BlockList();
neverTargets.addSubnet("169.254.0.0", 16, "ipv4");
neverTargets.addSubnet("0.0.0.0", 8, "ipv4");
neverTargets.addSubnet("224.0.0.0", 4, "ipv4");
neverTargets.addSubnet("fe80::", 10, "ipv6");
neverTargets.addAddress("::", "ipv6");
neverTargets.addSubnet("ff00::", 8, "ipv6");

/**
 * The URL of a task's port on its node, built from parsed parts; undefined for an address that is
 * not a bare host name or IP, or is an IP the gateway must not reach (a row written before
 * registration checked it), so no node can send the gateway to a URL of its choosing.
 */
export function targetUrl(address: string, port: number): string | undefined {
  if (!nodeAddressSchema.safeParse(address).success) return undefined;
  const family = isIP(address);
  if (family !== 0 && neverTargets.check(address, family === 6 ? "ipv6" : "ipv4")) return undefined;
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  const url = new URL("http://target.invalid/");
  url.hostname = address.includes(":") ? `[${address}]` : address;
  url.port = String(port);
  // The URL parser ignores a host name it cannot parse, leaving the placeholder.
  if (url.hostname === "target.invalid") return undefined;
  return url.origin;
}

/**
 * The load balancer's targets of every service: its tasks that run, are wanted and pass their
 * health checks, at their node's address and the host port of the load-balanced container port.
 */
export async function loadTargets(db: Database): Promise<Map<string, Target[]>> {
  const rows = await db
    .select({
      service: services.name,
      loadBalancer: services.loadBalancer,
      taskId: tasks.id,
      containers: tasks.containers,
      definition: taskDefinitions.containers,
      address: nodes.address,
    })
    .from(tasks)
    .innerJoin(services, eq(services.name, tasks.service))
    .innerJoin(nodes, eq(nodes.id, tasks.nodeId))
    .innerJoin(
      taskDefinitions,
      and(eq(taskDefinitions.family, tasks.family), eq(taskDefinitions.revision, tasks.revision)),
    )
    .where(
      and(
        eq(tasks.status, "running"),
        eq(tasks.desiredStatus, "running"),
        isNotNull(services.loadBalancer),
      ),
    );
  const table = new Map<string, Target[]>();
  for (const row of rows) {
    const lb = row.loadBalancer;
    if (!lb) continue;
    const container = row.containers.find((c) => c.name === lb.containerName);
    const checked =
      row.definition.find((c) => c.name === lb.containerName)?.healthCheck !== undefined;
    const healthy =
      row.containers.every((c) => c.health !== "unhealthy") &&
      (!checked || container?.health === "healthy");
    const port = container?.hostPorts.find(
      (mapping) => mapping.containerPort === lb.containerPort,
    )?.hostPort;
    const url = port ? targetUrl(row.address, port) : undefined;
    if (!healthy || !url) continue;
    const targets = table.get(row.service) ?? [];
    targets.push({ taskId: row.taskId, url });
    table.set(row.service, targets);
  }
  return table;
}

/**
 * The gateway's copy of the targets, kept in memory so no request touches the database; reloaded
 * when the control plane publishes a change and every few seconds (ReloadedTable).
 */
export class TargetTable extends ReloadedTable<Map<string, Target[]>> {
  constructor(db: Database, redis: Redis, logger: Logger, refreshMs = 5_000) {
    super({
      redis,
      channel: targetsChannel,
      logger,
      load: () => loadTargets(db),
      initial: new Map(),
      what: "load balancer targets",
      refreshMs,
    });
  }

  get(service: string): Target[] | undefined {
    return this.current.get(service);
  }

  /** The URL of every target of every service. */
  urls(): Set<string> {
    const urls = new Set<string>();
    for (const targets of this.current.values()) for (const target of targets) urls.add(target.url);
    return urls;
  }
}
