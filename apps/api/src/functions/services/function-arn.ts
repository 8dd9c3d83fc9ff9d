import { createHash } from "node:crypto";

/**
 * The 12-digit account id of this install in functions' ARNs: derived from the cluster id, so
 * it is the same on every replica and across restarts without being stored anywhere.
 */
export function accountIdOf(clusterId: string): string {
  const digest = createHash("sha256").update(`skiff account ${clusterId}`).digest();
  return (digest.readBigUInt64BE(0) % 1_000_000_000_000n).toString().padStart(12, "0");
}

/** `arn:aws:lambda:<region>:<account>:function:<name>`, as Lambda names a function. */
export function functionArn(region: string, account: string, name: string): string {
  return `arn:aws:lambda:${region}:${account}:function:${name}`;
}
