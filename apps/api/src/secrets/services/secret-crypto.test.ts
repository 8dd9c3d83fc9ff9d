import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  decryptSecretValue,
  encryptSecretValue,
  SecretDecryptionError,
  secretsKeyFrom,
} from "./secret-crypto.js";

const key = secretsKeyFrom(randomBytes(32));

describe("secret values at rest", () => {
  it("round-trips a value, sealed differently each time and never in the clear", () => {
    const value = "correct horse battery staple ✓";
    const one = encryptSecretValue(key, "db", value);
    const two = encryptSecretValue(key, "db", value);
    expect(one).not.toBe(two);
    expect(one).not.toContain(value);
    expect(one).not.toContain(Buffer.from(value).toString("base64url").slice(0, 12));
    expect(decryptSecretValue(key, "db", one)).toBe(value);
    expect(decryptSecretValue(key, "db", two)).toBe(value);
  });

  it("refuses another secret's name, another key and a changed byte, without the value", () => {
    const sealed = encryptSecretValue(key, "db", "the-value");
    const other = secretsKeyFrom(randomBytes(32));
    const [format, iv, tag, ciphertext] = sealed.split(".");
    const flipped = Buffer.from(ciphertext ?? "", "base64url");
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    const tampered = [format, iv, tag, flipped.toString("base64url")].join(".");
    for (const attempt of [
      () => decryptSecretValue(key, "other", sealed),
      () => decryptSecretValue(other, "db", sealed),
      () => decryptSecretValue(key, "db", tampered),
      () => decryptSecretValue(key, "db", "garbage"),
    ]) {
      expect(attempt).toThrow(SecretDecryptionError);
      try {
        attempt();
      } catch (error) {
        expect((error as Error).message).not.toContain("the-value");
      }
    }
  });

  it("names keys by a stable id, and takes only 32 bytes", () => {
    const bytes = randomBytes(32);
    expect(secretsKeyFrom(bytes).id).toBe(secretsKeyFrom(Buffer.from(bytes)).id);
    expect(secretsKeyFrom(bytes).id).toMatch(/^[0-9a-f]{16}$/);
    expect(() => secretsKeyFrom(randomBytes(16))).toThrow(/32 bytes/);
  });
});
