// What kind of address a node declares for the gateway to reach. Plain string work, no node:net,
// because the dashboard's browser bundle imports this package too.

/**
 * - `invalid-ipv4`: looks like an IPv4 address (ends in a number) but is not four decimal octets;
 *   a URL parser would read `999.1.1.1`, `0x7f.1` or `2130706433` its own way.
 * - `loopback`: 127.0.0.0/8, ::1, `localhost`: the gateway host itself.
 * - `link-local` (169.254.0.0/16, fe80::/10: cloud metadata lives there), `unspecified`
 *   (0.0.0.0/8, ::), `multicast` (224.0.0.0/4, ff00::/8): never a node's address.
 * - `other`: any other IP or host name.
 */
export type NodeAddressKind =
  | "invalid-ipv4"
  | "loopback"
  | "link-local"
  | "unspecified"
  | "multicast"
  | "other";

/** The four octets of a dotted-decimal IPv4 address, or undefined. */
function ipv4Octets(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const octets: number[] = [];
  for (const part of parts) {
    // No leading zeros: "010" is octal to some parsers.
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    octets.push(octet);
  }
  return octets;
}

function ipv4Kind([a = 0, b = 0]: number[]): NodeAddressKind {
  if (a === 0) return "unspecified";
  if (a === 127) return "loopback";
  if (a === 169 && b === 254) return "link-local";
  if (a >= 224 && a <= 239) return "multicast";
  return "other";
}

/** The eight 16-bit groups of an IPv6 address (already checked for form), or undefined. */
function ipv6Groups(text: string): number[] | undefined {
  let address = text.toLowerCase();
  const lastColon = address.lastIndexOf(":");
  const tail = address.slice(lastColon + 1);
  if (tail.includes(".")) {
    const octets = ipv4Octets(tail);
    if (!octets) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = octets;
    address = `${address.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string | undefined) =>
    half ? half.split(":").map((group) => Number.parseInt(group, 16)) : [];
  const head = groupsOf(halves[0]);
  const rest = groupsOf(halves[1]);
  const zeros = halves.length === 2 ? 8 - head.length - rest.length : 0;
  const groups = [...head, ...Array<number>(Math.max(zeros, 0)).fill(0), ...rest];
  if (groups.length !== 8 || groups.some((group) => Number.isNaN(group) || group > 0xffff))
    return undefined;
  return groups;
}

function ipv6Kind(groups: number[]): NodeAddressKind {
  const [first = 0] = groups;
  const zeroUpTo = (end: number) => groups.slice(0, end).every((group) => group === 0);
  if (zeroUpTo(8)) return "unspecified";
  if (zeroUpTo(7) && groups[7] === 1) return "loopback";
  // ::ffff:a.b.c.d reaches the IPv4 address a.b.c.d.
  if (zeroUpTo(5) && groups[5] === 0xffff) {
    const [, , , , , , high = 0, low = 0] = groups;
    return ipv4Kind([high >> 8, high & 0xff, low >> 8, low & 0xff]);
  }
  if ((first & 0xffc0) === 0xfe80) return "link-local";
  if ((first & 0xff00) === 0xff00) return "multicast";
  return "other";
}

/**
 * The kind of a node address that already has the form of a host name or IPv6 address (see
 * `nodeAddressSchema`); also of a request's source address (`::ffff:127.0.0.1` is loopback).
 */
export function nodeAddressKind(address: string): NodeAddressKind {
  if (address.includes(":")) {
    const groups = ipv6Groups(address.replace(/^\[|\]$/g, ""));
    return groups ? ipv6Kind(groups) : "invalid-ipv4";
  }
  const host = address.toLowerCase().replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost")) return "loopback";
  // A name whose last label is a number (decimal or 0x hex) is an IPv4 address to a URL parser
  // (WHATWG "ends in a number"), so it must be one written in full.
  const last = host.split(".").pop() ?? "";
  if (/^(\d+|0x[0-9a-f]*)$/.test(last)) {
    const octets = ipv4Octets(host);
    return octets ? ipv4Kind(octets) : "invalid-ipv4";
  }
  return "other";
}

/** The kinds no node may declare, whoever registers it. */
export const refusedNodeAddressKinds: ReadonlySet<NodeAddressKind> = new Set([
  "invalid-ipv4",
  "link-local",
  "unspecified",
  "multicast",
]);
