import { BlockList, isIP } from "node:net";

/**
 * Addresses an HTTP proxy integration never reaches: link-local (the node's metadata service at
 * 169.254.169.254, AWS's IPv6 one at fd00:ec2::254), unspecified and multicast. A route's URL is
 * set by an API owner, so it must not turn the gateway into a way to read the node's secrets.
 */
const never = new BlockList();
never.addSubnet("169.254.0.0", 16, "ipv4");
never.addSubnet("0.0.0.0", 8, "ipv4");
never.addSubnet("224.0.0.0", 4, "ipv4");
never.addSubnet("fe80::", 10, "ipv6");
never.addAddress("::", "ipv6");
never.addAddress("fd00:ec2::254", "ipv6");
never.addSubnet("ff00::", 8, "ipv6");
const metadataNames = new Set(["metadata", "metadata.google.internal", "instance-data"]);

/** Why `value` cannot be a URL target, or undefined when it can. */
export function urlTargetProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be an absolute http:// or https:// URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must be http:// or https://";
  if (url.username || url.password) return "must not carry credentials";
  if (url.hash) return "must not have a #fragment";
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const family = isIP(host);
  if (family !== 0 && never.check(host, family === 6 ? "ipv6" : "ipv4"))
    return "must not be a link-local, metadata, unspecified or multicast address";
  if (metadataNames.has(host.toLowerCase().replace(/\.$/, "")))
    return "must not be the node's metadata service";
  return undefined;
}

/** An address the gateway must not connect to (see `never`). */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  return family !== 0 && never.check(address, family === 6 ? "ipv6" : "ipv4");
}

type LookupAnswer = string | { address: string; family: number }[];
type LookupCallback = (error: Error | null, address: LookupAnswer, family?: number) => void;
type LookupFunction = (hostname: string, options: object, callback: LookupCallback) => void;

/**
 * `lookup` (node's dns.lookup by default) for the gateway's outgoing connections, refusing a
 * host name that resolves to a forbidden address: a URL target's name checked when it was
 * written could resolve to the metadata service later (DNS rebinding), so it is checked at
 * every connect too.
 */
export function guardedLookup(lookup: LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, options, (error, address, family) => {
      if (error) return callback(error, address, family);
      const addresses = typeof address === "string" ? [address] : address.map((a) => a.address);
      const bad = addresses.find(isForbiddenAddress);
      if (bad) {
        const refused = Object.assign(
          new Error(`${hostname} resolves to ${bad}, an address the gateway never connects to`),
          { code: "ENOTFOUND" },
        );
        return callback(refused, address, family);
      }
      callback(null, address, family);
    });
  };
}
