import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import type { RegistryDatabase } from "../db/client.js";
import { registrySettings } from "../db/schema/index.js";

const key = "token_signing_secret";

/**
 * The secret registry tokens are signed with, made at first boot. Every replica of the api and
 * the registry reads the same row: the first insert wins and the others keep it.
 */
export function ensureSigningSecret(db: RegistryDatabase): Promise<string> {
  let secret = known.get(db);
  if (!secret) {
    secret = readOrCreate(db);
    known.set(db, secret);
    secret.catch(() => known.delete(db));
  }
  return secret;
}

// The secret never changes once made, so each database's is read once per process.
const known = new WeakMap<RegistryDatabase, Promise<string>>();

async function readOrCreate(db: RegistryDatabase): Promise<string> {
  await db
    .insert(registrySettings)
    .values({ key, value: randomBytes(32).toString("base64url") })
    .onConflictDoNothing();
  const [row] = await db.select().from(registrySettings).where(eq(registrySettings.key, key));
  if (!row) throw new Error("the registry signing secret is missing after its insert");
  return row.value;
}
