import { createHmac } from "node:crypto";

/**
 * The key of an agent's control API (functions.md): hex HMAC-SHA256, keyed with the hex SHA-256
 * of the node credential (what `nodes.credential_hash` holds), over `skiff functions control`.
 * The same as @skiff/agent's `functionsControlKey`; kept here until branch agent-fn is merged,
 * then this file should re-export that one.
 */
export function functionsControlKey(credentialHash: string): string {
  return createHmac("sha256", credentialHash).update("skiff functions control").digest("hex");
}
