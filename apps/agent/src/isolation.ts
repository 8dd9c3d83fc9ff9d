// How a fargate task is fenced in on a shared node: what its containers may do and which
// network they sit on. Pool tasks run as Docker's defaults allow, like ECS tasks on EC2.
import { defaultEgressDeny, type EgressFenceSettings, parseEgressDeny } from "./egress-fence.js";

/**
 * Capabilities a fargate container keeps; every other one is dropped. Enough to run usual
 * images (own files, switch user, bind low ports, signal own processes); gone are Docker's
 * NET_RAW (raw sockets, spoofing), MKNOD, SETFCAP, SETPCAP, SYS_CHROOT and AUDIT_WRITE.
 */
export const fargateCapabilities = [
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "NET_BIND_SERVICE",
  "SETGID",
  "SETUID",
] as const;

/** The operator's isolation settings, from the agent's environment. */
export interface IsolationSettings {
  /** OCI runtime for fargate containers (e.g. "runsc" with gVisor); the engine's default when unset. */
  runtime?: string | undefined;
  /** Most processes a fargate container may run. */
  pidsLimit: number;
  /** Writable layer size limit, e.g. "20G"; only engines on overlay2 over xfs with pquota allow it. */
  storageSize?: string | undefined;
  /** Where each fargate task's network gets a /28 from. */
  subnetPool: string;
  /** What fargate tasks may not reach beyond their network (egress-fence.ts). */
  egress: EgressFenceSettings;
}

export const defaultIsolation: IsolationSettings = {
  pidsLimit: 1024,
  subnetPool: "10.240.0.0/16",
  egress: { ...parseEgressDeny(defaultEgressDeny), openHostPorts: [] },
};

/** The bridge network of one fargate task: its containers reach each other by name, no one else. */
export function taskNetworkName(taskId: string): string {
  return `skiff-${taskId}`;
}

/** A /28 of `pool` (a /16 to /27 CIDR) not in `used`, the first from its start (or end); undefined when the pool is full. */
export function nextFreeSubnet(
  pool: string,
  used: Iterable<string>,
  from: "start" | "end" = "start",
): string | undefined {
  const [base, bitsText] = pool.split("/");
  const bits = Number(bitsText);
  const start = ipToNumber(base ?? "");
  if (start === undefined || !Number.isInteger(bits) || bits < 8 || bits > 28)
    throw new Error(`bad subnet pool "${pool}": want a CIDR like 10.240.0.0/16`);
  const taken = new Set(used);
  const size = 2 ** (32 - bits);
  for (let index = 0; index < size / 16; index++) {
    const offset = from === "start" ? index * 16 : size - 16 - index * 16;
    const candidate = `${numberToIp(start + offset)}/28`;
    if (!taken.has(candidate)) return candidate;
  }
  return undefined;
}

function ipToNumber(ip: string): number | undefined {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255))
    return undefined;
  return parts.reduce((value, part) => value * 256 + part, 0);
}

function numberToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}
