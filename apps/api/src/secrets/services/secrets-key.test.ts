import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseEnv } from "../../env.js";
import { secretsKeyFrom } from "./secret-crypto.js";
import { loadSecretsKey, secretsKeyFileName } from "./secrets-key.js";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "skiff-secrets-key-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("the secrets key", () => {
  it("is generated once into a 0600 file under the data dir, then reused", async () => {
    const dataDir = join(tempDir(), "data");
    const first = await loadSecretsKey({ dataDir });
    const file = join(dataDir, secretsKeyFileName);
    expect(first.source).toEqual({ file, created: true });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(file, "utf8").trim(), "base64")).toHaveLength(32);
    const again = await loadSecretsKey({ dataDir });
    expect(again.source).toEqual({ file, created: false });
    expect(again.key.id).toBe(first.key.id);
  });

  it("agrees between processes booting at once on one data dir", async () => {
    const dataDir = tempDir();
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadSecretsKey({ dataDir })));
    expect(new Set(keys.map((loaded) => loaded.key.id)).size).toBe(1);
  });

  it("takes SKIFF_SECRETS_KEY over any file, and refuses a key of the wrong size", async () => {
    const dataDir = tempDir();
    const bytes = randomBytes(32);
    const env = parseEnv({ SKIFF_SECRETS_KEY: bytes.toString("base64") });
    const loaded = await loadSecretsKey({ configured: env.SKIFF_SECRETS_KEY, dataDir });
    expect(loaded.source).toBe("env");
    expect(loaded.key.id).toBe(secretsKeyFrom(bytes).id);
    expect(() => parseEnv({ SKIFF_SECRETS_KEY: randomBytes(16).toString("base64") })).toThrow(
      /SKIFF_SECRETS_KEY: must be the base64 of 32 bytes/,
    );
    writeFileSync(join(dataDir, secretsKeyFileName), "short\n");
    await expect(loadSecretsKey({ dataDir })).rejects.toThrow(/base64 of 32 bytes/);
  });
});
