import type { Database } from "../../db/client.js";
import type { Env } from "../../env.js";
import type { Logger } from "../../lib/logger.js";
import type { SecretsKey } from "./secret-crypto.js";
import { countSecretsUnderOtherKeys } from "./secrets.js";
import { loadSecretsKey } from "./secrets-key.js";

/**
 * Loads the secrets key at boot and says what an operator must know. The rule: SKIFF_SECRETS_KEY
 * wins; without it the key lives in SKIFF_DATA_DIR/secrets.key. That suits the one-process
 * install (PGlite); with PostgreSQL, where api replicas share one database, every replica must
 * hold the same key, so each start without SKIFF_SECRETS_KEY warns. Secrets sealed under another
 * key are reported (by count and key id) rather than refused: the rest of Skiff still works, and
 * tasks naming them stop with a reason that says which key is missing.
 */
export async function checkSecretsKey(db: Database, env: Env, logger: Logger): Promise<SecretsKey> {
  const loaded = await loadSecretsKey({
    configured: env.SKIFF_SECRETS_KEY,
    dataDir: env.SKIFF_DATA_DIR,
  });
  const { key, source } = loaded;
  if (source !== "env") {
    const what = source.created ? "generated a secrets key in" : "using the secrets key in";
    if (env.DATABASE_URL) {
      logger.warn(
        { keyFile: source.file, keyId: key.id },
        `SKIFF_SECRETS_KEY is unset: ${what} ${source.file}. With more than one api replica on this PostgreSQL, set SKIFF_SECRETS_KEY (that file's content) on every replica, or they cannot read each other's secrets; back it up: without it the secrets are lost`,
      );
    } else {
      logger.info({ keyFile: source.file, keyId: key.id }, `${what} ${source.file}`);
    }
  }
  const foreign = await countSecretsUnderOtherKeys(db, key.id);
  if (foreign > 0) {
    logger.error(
      { keyId: key.id, secrets: foreign },
      `${foreign} secret(s) in the database were encrypted with another secrets key; tasks naming them will fail to start until this api has that key (SKIFF_SECRETS_KEY)`,
    );
  }
  return key;
}
