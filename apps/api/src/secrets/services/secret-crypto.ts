import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/** The api's key for secret values: 32 bytes, and a short id naming it in each row. */
export interface SecretsKey {
  key: Buffer;
  /** First 16 hex digits of SHA-256 over the key: tells keys apart, reveals nothing of it. */
  id: string;
}

/** A key from its 32 bytes. */
export function secretsKeyFrom(key: Buffer): SecretsKey {
  if (key.length !== 32) throw new Error(`a secrets key has 32 bytes, not ${key.length}`);
  return { key, id: createHash("sha256").update(key).digest("hex").slice(0, 16) };
}

/** A value cannot be read back: another key, or a row changed behind the api's back. */
export class SecretDecryptionError extends Error {
  override name = "SecretDecryptionError";
}

const format = "v1";

/**
 * Encrypts a secret's value with AES-256-GCM: a random 96-bit IV per value, and the secret's
 * name as associated data, so a ciphertext copied onto another secret's row fails to decrypt.
 */
export function encryptSecretValue(key: SecretsKey, name: string, value: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key.key, iv);
  cipher.setAAD(Buffer.from(name, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(value, "utf8"), cipher.final()]);
  const parts = [iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString("base64url"));
  return [format, ...parts].join(".");
}

/** The value `encryptSecretValue` sealed; throws SecretDecryptionError (without the value). */
export function decryptSecretValue(key: SecretsKey, name: string, sealed: string): string {
  const [version, iv, tag, ciphertext] = sealed.split(".");
  if (version !== format || iv === undefined || tag === undefined || ciphertext === undefined)
    throw new SecretDecryptionError(`secret ${name}: unknown ciphertext format`);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key.key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(name, "utf8"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    const plain = Buffer.concat([
      decipher.update(Buffer.from(ciphertext, "base64url")),
      decipher.final(),
    ]);
    return plain.toString("utf8");
  } catch {
    throw new SecretDecryptionError(`secret ${name}: the value does not decrypt with this key`);
  }
}
