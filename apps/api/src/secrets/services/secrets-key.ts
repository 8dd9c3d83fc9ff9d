import { randomBytes } from "node:crypto";
import { chmod, link, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { type SecretsKey, secretsKeyFrom } from "./secret-crypto.js";

/** Where a generated key is kept, under SKIFF_DATA_DIR: never in the database it protects. */
export const secretsKeyFileName = "secrets.key";

export interface LoadedSecretsKey {
  key: SecretsKey;
  /** "env" (SKIFF_SECRETS_KEY), or the key file it was read from or created as. */
  source: "env" | { file: string; created: boolean };
}

/**
 * The api's secrets key: SKIFF_SECRETS_KEY (base64 of 32 bytes) when set; else the key file
 * under `dataDir`, created with 32 random bytes and mode 0600 at first boot. Two processes
 * booting at once on one data dir agree: the file is created exclusively and the loser reads it.
 */
export async function loadSecretsKey(opts: {
  configured?: Buffer | undefined;
  dataDir: string;
}): Promise<LoadedSecretsKey> {
  if (opts.configured) return { key: secretsKeyFrom(opts.configured), source: "env" };
  const file = resolve(opts.dataDir, secretsKeyFileName);
  const existing = await readKeyFile(file);
  if (existing) return { key: existing, source: { file, created: false } };
  await mkdir(opts.dataDir, { recursive: true });
  const fresh = randomBytes(32);
  // Written whole under a temporary name, then linked into place: link fails if the file exists,
  // so a concurrent boot never reads a half-written key and never replaces the winner's.
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  await writeFile(temporary, `${fresh.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  try {
    // The umask may clear bits, never add them; chmod makes the mode exactly 0600.
    await chmod(temporary, 0o600);
    await link(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const won = await readKeyFile(file);
    if (!won) throw new Error(`${file} vanished while it was being created`);
    return { key: won, source: { file, created: false } };
  } finally {
    await rm(temporary, { force: true });
  }
  return { key: secretsKeyFrom(fresh), source: { file, created: true } };
}

async function readKeyFile(file: string): Promise<SecretsKey | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const bytes = Buffer.from(text.trim(), "base64");
  if (bytes.length !== 32)
    throw new Error(`${file} must hold the base64 of 32 bytes (SKIFF_SECRETS_KEY's format)`);
  return secretsKeyFrom(bytes);
}
