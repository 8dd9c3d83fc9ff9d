import { createHash, type Hash } from "node:crypto";
import { RegistryError } from "./errors.js";

export type DigestAlgorithm = "sha256" | "sha512";

const encodedLength: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const digestPattern = /^(sha256|sha512):([a-f0-9]+)$/;

export interface Digest {
  algorithm: DigestAlgorithm;
  hex: string;
  /** `algorithm:hex`. */
  text: string;
}

/** Parses a digest of a supported algorithm; anything else is DIGEST_INVALID. */
export function parseDigest(text: string): Digest {
  const match = digestPattern.exec(text);
  const algorithm = match?.[1] as DigestAlgorithm | undefined;
  const hex = match?.[2];
  if (!algorithm || !hex || hex.length !== encodedLength[algorithm]) {
    throw new RegistryError(
      "DIGEST_INVALID",
      `"${text.slice(0, 200)}" is not a sha256 or sha512 digest`,
    );
  }
  return { algorithm, hex, text };
}

/** Whether `text` looks like a digest (as opposed to a tag), without validating it. */
export function isDigestReference(text: string): boolean {
  return text.includes(":");
}

export function newHash(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

/** The digest of bytes held in memory (manifests only: blobs are hashed as they stream). */
export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = "sha256"): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}
