import type { ContainerDefinition, CreateSecret, Secret, UpdateSecret } from "@skiff/shared";
import { asc, eq, gt, inArray, sql } from "drizzle-orm";
import type { Database, Transaction } from "../../db/client.js";
import { functions, taskDefinitions } from "../../db/schema/index.js";
import { ApiError, conflict, notFound } from "../../lib/errors.js";
import { secrets } from "../schema/secrets.js";
import { encryptSecretValue, type SecretsKey } from "./secret-crypto.js";

type SecretRow = typeof secrets.$inferSelect;

/** A secret as answers show it: the value (and its ciphertext) never leaves this module. */
export function toSecret(row: SecretRow): Secret {
  return {
    name: row.name,
    description: row.description,
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Stores a new secret, its value encrypted; Conflict when the name is taken. */
export async function createSecret(
  db: Database,
  key: SecretsKey,
  input: CreateSecret,
): Promise<Secret> {
  const [row] = await db
    .insert(secrets)
    .values({
      name: input.name,
      description: input.description ?? null,
      version: 1,
      ciphertext: encryptSecretValue(key, input.name, input.value),
      keyId: key.id,
    })
    .onConflictDoNothing()
    .returning();
  if (!row)
    throw conflict(
      `secret ${input.name} already exists; PUT /v1/secrets/${input.name} gives it a new value`,
    );
  return toSecret(row);
}

/** By name; the cursor is the name of the last secret of the previous page. */
export async function listSecrets(
  db: Database,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ items: Secret[]; nextCursor: string | null }> {
  const rows = await db
    .select()
    .from(secrets)
    .where(page.cursor ? gt(secrets.name, page.cursor) : undefined)
    .orderBy(asc(secrets.name))
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit).map(toSecret);
  const nextCursor = rows.length > page.limit ? (items.at(-1)?.name ?? null) : null;
  return { items, nextCursor };
}

export async function getSecret(db: Database, name: string): Promise<Secret> {
  const [row] = await db.select().from(secrets).where(eq(secrets.name, name));
  if (!row) throw notFound(`secret ${name}`);
  return toSecret(row);
}

/**
 * A new version of the value. Tasks started from now on get it; running containers keep the
 * value they started with (as in ECS: a service picks it up at its next deployment).
 */
export async function updateSecretValue(
  db: Database,
  key: SecretsKey,
  name: string,
  input: UpdateSecret,
): Promise<Secret> {
  const [row] = await db
    .update(secrets)
    .set({
      version: sql`${secrets.version} + 1`,
      ciphertext: encryptSecretValue(key, name, input.value),
      keyId: key.id,
      updatedAt: sql`now()`,
      ...(input.description === undefined ? {} : { description: input.description }),
    })
    .where(eq(secrets.name, name))
    .returning();
  if (!row) throw notFound(`secret ${name}`);
  return toSecret(row);
}

/** How many referencing revisions a Conflict names before it says "and N more". */
const namedReferences = 5;

/**
 * Deletes a secret. While task definition revisions reference it the answer is Conflict naming
 * them, unless `force`: tasks later started from those revisions then stop with
 * TaskFailedToStart, as ECS tasks do when Secrets Manager no longer has their secret.
 */
export async function deleteSecret(db: Database, name: string, force: boolean): Promise<void> {
  await db.transaction(async (tx) => {
    // Locked, so a registration naming it (which reads it FOR SHARE) waits and then sees it gone.
    const [row] = await tx
      .select({ name: secrets.name })
      .from(secrets)
      .where(eq(secrets.name, name))
      .for("update");
    if (!row) throw notFound(`secret ${name}`);
    if (!force) {
      const users = await revisionsReferencing(tx, name);
      if (users.length > 0) {
        const shown = users.slice(0, namedReferences).join(", ");
        const more =
          users.length > namedReferences ? ` and ${users.length - namedReferences} more` : "";
        throw conflict(
          `secret ${name} is referenced by task definition ${shown}${more}; delete with ?force=true to delete it anyway (tasks started from those revisions then fail to start)`,
        );
      }
      const fns = await functionsReferencing(tx, name);
      if (fns.length > 0) {
        const shown = fns.slice(0, namedReferences).join(", ");
        const more =
          fns.length > namedReferences ? ` and ${fns.length - namedReferences} more` : "";
        throw conflict(
          `secret ${name} is referenced by function ${shown}${more}; delete with ?force=true to delete it anyway (their invocations then fail until the secret exists again)`,
        );
      }
    }
    await tx.delete(secrets).where(eq(secrets.name, name));
  });
}

/** `family:revision` of every revision with a container whose secrets take `name`. */
async function revisionsReferencing(db: Database | Transaction, name: string): Promise<string[]> {
  const pattern = JSON.stringify([{ secrets: [{ valueFrom: name }] }]);
  const rows = await db
    .select({ family: taskDefinitions.family, revision: taskDefinitions.revision })
    .from(taskDefinitions)
    .where(sql`${taskDefinitions.containers} @> ${pattern}::jsonb`)
    .orderBy(asc(taskDefinitions.family), asc(taskDefinitions.revision));
  return rows.map((row) => `${row.family}:${row.revision}`);
}

/** Names of the functions whose secrets take `name`. */
async function functionsReferencing(db: Database | Transaction, name: string): Promise<string[]> {
  const pattern = JSON.stringify([{ valueFrom: name }]);
  const rows = await db
    .select({ name: functions.name })
    .from(functions)
    .where(sql`${functions.secrets} @> ${pattern}::jsonb`)
    .orderBy(asc(functions.name));
  return rows.map((row) => row.name);
}

/**
 * Refuses a registration naming a secret that does not exist, with the field's path. Reads the
 * named secrets FOR SHARE, so a concurrent delete waits for the registration and then sees it.
 */
export async function ensureSecretsExist(
  tx: Database | Transaction,
  containers: Pick<ContainerDefinition, "secrets">[],
): Promise<void> {
  const names = [
    ...new Set(
      containers.flatMap((container) => (container.secrets ?? []).map((s) => s.valueFrom)),
    ),
  ];
  if (names.length === 0) return;
  const rows = await tx
    .select({ name: secrets.name })
    .from(secrets)
    .where(inArray(secrets.name, names))
    .for("share");
  const found = new Set(rows.map((row) => row.name));
  const problems: string[] = [];
  for (const [index, container] of containers.entries()) {
    for (const [at, secret] of (container.secrets ?? []).entries()) {
      if (found.has(secret.valueFrom)) continue;
      problems.push(
        `containers.${index}.secrets.${at}.valueFrom: no secret named ${secret.valueFrom} (create it with POST /v1/secrets)`,
      );
    }
  }
  if (problems.length > 0)
    throw new ApiError("ValidationError", `invalid json: ${problems.join("; ")}`);
}

/** The sealed values of `names` that exist, for delivery (assignment-secrets.ts). */
export async function findSealedSecrets(
  db: Database,
  names: string[],
): Promise<Pick<SecretRow, "name" | "ciphertext" | "keyId">[]> {
  if (names.length === 0) return [];
  return db
    .select({ name: secrets.name, ciphertext: secrets.ciphertext, keyId: secrets.keyId })
    .from(secrets)
    .where(inArray(secrets.name, names));
}

/** How many secrets are sealed with a key other than `keyId` (checked at boot). */
export async function countSecretsUnderOtherKeys(db: Database, keyId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(secrets)
    .where(sql`${secrets.keyId} <> ${keyId}`);
  return row?.n ?? 0;
}
