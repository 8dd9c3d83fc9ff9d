import type { Assignment, Assignments } from "@skiff/shared";
import { stopTask } from "../../compute/services/tasks.js";
import type { Database } from "../../db/client.js";
import type { Logger } from "../../lib/logger.js";
import { decryptSecretValue, SecretDecryptionError, type SecretsKey } from "./secret-crypto.js";
import { findSealedSecrets } from "./secrets.js";

/** The secret names a task's containers take values from. */
function secretNamesOf(assignment: Assignment): string[] {
  return assignment.containers.flatMap((container) =>
    (container.secrets ?? []).map((secret) => secret.valueFrom),
  );
}

/**
 * Adds to a node's assignments the values of the secrets its running tasks name: this is the
 * only answer that carries secret values, and it goes only to the node's own agent. A task whose
 * secret is gone (deleted with force) or does not decrypt with this api's key is stopped with
 * TaskFailedToStart, as ECS stops a task whose secrets cannot be fetched; the reason names the
 * secret, never a value.
 */
export async function withSecretValues(
  deps: { db: Database; secretsKey: SecretsKey; logger: Logger },
  current: Assignments,
  now: Date,
): Promise<Assignments> {
  const needing = current.assignments.filter(
    (assignment) => assignment.desiredStatus === "running" && secretNamesOf(assignment).length > 0,
  );
  if (needing.length === 0) return current;
  const sealed = await findSealedSecrets(deps.db, [...new Set(needing.flatMap(secretNamesOf))]);
  const byName = new Map(sealed.map((row) => [row.name, row]));
  const assignments: Assignment[] = [];
  for (const assignment of current.assignments) {
    if (!needing.includes(assignment)) {
      assignments.push(assignment);
      continue;
    }
    const values: Record<string, string> = {};
    let problem: string | undefined;
    for (const name of new Set(secretNamesOf(assignment))) {
      const row = byName.get(name);
      if (!row) {
        problem = `secret ${name} does not exist (deleted after the task definition was registered)`;
        break;
      }
      try {
        values[name] = decryptSecretValue(deps.secretsKey, name, row.ciphertext);
      } catch (error) {
        if (!(error instanceof SecretDecryptionError)) throw error;
        problem =
          row.keyId === deps.secretsKey.id
            ? error.message
            : `secret ${name} was encrypted with secrets key ${row.keyId}, this api has key ${deps.secretsKey.id}: give every api replica the same SKIFF_SECRETS_KEY`;
        break;
      }
    }
    if (problem === undefined) {
      assignments.push({ ...assignment, secrets: values });
      continue;
    }
    const reason = `ResourceInitializationError: ${problem}`;
    deps.logger.error({ taskId: assignment.taskId }, reason);
    await stopTask(deps.db, assignment.taskId, "TaskFailedToStart", reason, now);
    assignments.push({ ...assignment, desiredStatus: "stopped" });
  }
  return { ...current, assignments };
}
