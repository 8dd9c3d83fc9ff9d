import { createHash, randomBytes } from "node:crypto";

/** Secrets are 32 random bytes, so a plain SHA-256 is enough to store them safely. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** A new secret such as `skf_...` (API token), `skj_...` (join token) or `skn_...` (node credential). */
export function newSecret(prefix: "skf" | "skj" | "skn"): string {
  return `${prefix}_${randomBytes(32).toString("base64url")}`;
}
