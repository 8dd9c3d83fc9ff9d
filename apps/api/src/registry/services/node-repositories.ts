import { parseImageReference } from "@skiff/shared";
import { and, eq, ne } from "drizzle-orm";
import type { Database } from "../../db/client.js";
import { taskDefinitions, tasks } from "../../db/schema/index.js";

/**
 * The repository path of an image in a registry named by host (`localhost:5000/team/app:v1` ->
 * `team/app`); undefined for an image with no registry host (`nginx`, `team/app`: Docker Hub),
 * which cannot be in Skiff's registry.
 */
export function registryRepositoryOf(image: string): string | undefined {
  const { registry, repository } = parseImageReference(image);
  return registry && repository ? repository : undefined;
}

/**
 * The repositories a node may pull with its credential: those of the images of the task
 * definitions its non-stopped tasks run. A node's credential is on a host Skiff does not control;
 * leaked, it must not open every private repository. Which registry host the image names is not
 * checked: an agent may reach Skiff's registry under several addresses (SKIFF_REGISTRY_ADDRESS),
 * and only a deploy token, which may pull anything already, can put an image in a task.
 */
export async function repositoriesRunOnNode(db: Database, nodeId: string): Promise<Set<string>> {
  const rows = await db
    .selectDistinct({ containers: taskDefinitions.containers })
    .from(tasks)
    .innerJoin(
      taskDefinitions,
      and(eq(taskDefinitions.family, tasks.family), eq(taskDefinitions.revision, tasks.revision)),
    )
    .where(and(eq(tasks.nodeId, nodeId), ne(tasks.status, "stopped")));
  const repositories = new Set<string>();
  for (const row of rows) {
    for (const container of row.containers) {
      const repository = registryRepositoryOf(container.image);
      if (repository) repositories.add(repository);
    }
  }
  return repositories;
}
