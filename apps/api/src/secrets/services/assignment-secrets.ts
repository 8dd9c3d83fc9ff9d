import type { Assignment, Assignments } from "@skiff/shared";
import { inArray } from "drizzle-orm";
import { stopTask } from "../../compute/services/tasks.js";
import type { Database } from "../../db/client.js";
import { tasks } from "../../db/schema/index.js";
import type { Logger } from "../../lib/logger.js";
import { decryptSecretValue, SecretDecryptionError, type SecretsKey } from "./secret-crypto.js";
import { findSealedSecrets } from "./secrets.js";

/** The secret names a task's containers take values from. */
function secretNamesOf(assignment: Assignment): string[] {
  return assignment.containers.flatMap((container) =>
    (container.secrets ?? []).map((secret) => secret.valueFrom),
  );
}

/** Statuses of a task whose containers have not started: a missing secret can still fail it. */
const notStarted = new Set(["provisioning", "pending"]);

/**
 * Adds to a node's assignments the values of the secrets its running tasks name: this is the
 * only answer that carries secret values, and it goes only to the node's own agent. A task not yet
 * started whose secret is gone (deleted with force) or does not decrypt with this api's key is
 * stopped with TaskFailedToStart, as ECS stops a task whose secrets cannot be fetched; the reason
 * names the secret, never a value. A task already started keeps running with the value it started
 * with (as in ECS): it gets what can be delivered and a warning is logged, so that a forced delete
 * or one replica with another SKIFF_SECRETS_KEY does not stop every running task at the next poll.
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
  const statuses = await taskStatuses(deps.db, needing);
  const assignments: Assignment[] = [];
  for (const assignment of current.assignments) {
    if (!needing.includes(assignment)) {
      assignments.push(assignment);
      continue;
    }
    const values: Record<string, string> = {};
    const problems: string[] = [];
    for (const name of new Set(secretNamesOf(assignment))) {
      const row = byName.get(name);
      if (!row) {
        problems.push(
          `secret ${name} does not exist (deleted after the task definition was registered)`,
        );
        continue;
      }
      try {
        values[name] = decryptSecretValue(deps.secretsKey, name, row.ciphertext);
      } catch (error) {
        if (!(error instanceof SecretDecryptionError)) throw error;
        problems.push(
          row.keyId === deps.secretsKey.id
            ? error.message
            : `secret ${name} was encrypted with secrets key ${row.keyId}, this api has key ${deps.secretsKey.id}: give every api replica the same SKIFF_SECRETS_KEY`,
        );
      }
    }
    const problem = problems.join("; ");
    if (problems.length === 0) {
      assignments.push({ ...assignment, secrets: values });
      continue;
    }
    if (!notStarted.has(statuses.get(assignment.taskId) ?? "provisioning")) {
      // Its containers already hold their values; only a restart of one would need them again.
      deps.logger.warn(
        { taskId: assignment.taskId },
        `started task left running with the values it started with: ${problem}`,
      );
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

/** The current status of each task, by id. */
async function taskStatuses(db: Database, of: Assignment[]): Promise<Map<string, string>> {
  const rows = await db
    .select({ id: tasks.id, status: tasks.status })
    .from(tasks)
    .where(
      inArray(
        tasks.id,
        of.map((assignment) => assignment.taskId),
      ),
    );
  return new Map(rows.map((row) => [row.id, row.status]));
}
