import { createHash, createHmac, timingSafeEqual } from "node:crypto";

// The key of the api -> agent control protocol (function instances). Both ends derive it from the
// node credential: the agent holds the credential, the api only its SHA-256 (nodes.credential_hash),
// so the key is an HMAC keyed with that hash. A leaked control key does not give the node's
// credential (it cannot call the api as the node).

const controlKeyText = "skiff functions control";

/** Hex HMAC-SHA256, key = the hex SHA-256 of the node credential, over `skiff functions control`. */
export function functionsControlKey(credentialHash: string): string {
  return createHmac("sha256", credentialHash).update(controlKeyText).digest("hex");
}

/** The credential's hash as the api stores it. */
export function credentialHashOf(credential: string): string {
  return createHash("sha256").update(credential).digest("hex");
}

/** Constant-time check of an `Authorization: Bearer <key>` header against the expected key. */
export function controlKeyMatches(header: string | undefined, expected: string): boolean {
  if (!header?.startsWith("Bearer ")) return false;
  const given = Buffer.from(header.slice("Bearer ".length).trim());
  const wanted = Buffer.from(expected);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
