import {
  fargateSizeError,
  isValidFargateSize,
  type registerTaskDefinitionSchema,
  smallestFargateSizeCovering,
  type TaskDefinition,
} from "@skiff/shared";
import { and, desc, eq, gt, sql } from "drizzle-orm";
import type { z } from "zod";
import { type Database, queryRows } from "../../db/client.js";
import { taskDefinitions } from "../../db/schema/index.js";
import { ApiError, notFound } from "../../lib/errors.js";
import { ensureSecretsExist } from "../../secrets/services/secrets.js";

type Row = typeof taskDefinitions.$inferSelect;
type Input = z.output<typeof registerTaskDefinitionSchema>;

export function toTaskDefinition(row: Row): TaskDefinition {
  return {
    family: row.family,
    revision: row.revision,
    containers: row.containers,
    cpu: row.cpu,
    memory: row.memory,
    compatibilities: row.compatibilities as TaskDefinition["compatibilities"],
    createdAt: row.createdAt.toISOString(),
  };
}

/** Registers the next revision of a family; revisions are never changed afterwards. */
export async function registerTaskDefinition(db: Database, given: Input): Promise<TaskDefinition> {
  const { size, ...input } = given;
  if (size === "auto") Object.assign(input, autoSize(input));
  return db.transaction(async (tx) => {
    // One registration per family at a time, so two concurrent ones get consecutive revisions.
    await queryRows(
      tx,
      sql`select pg_advisory_xact_lock(hashtext(${`skiff:family:${input.family}`}))`,
    );
    await ensureSecretsExist(tx, input.containers);
    const [latest] = await tx
      .select({ revision: taskDefinitions.revision })
      .from(taskDefinitions)
      .where(eq(taskDefinitions.family, input.family))
      .orderBy(desc(taskDefinitions.revision))
      .limit(1);
    const [row] = await tx
      .insert(taskDefinitions)
      .values({ ...input, revision: (latest?.revision ?? 0) + 1 })
      .returning();
    if (!row) throw new Error("insert returned no row");
    return toTaskDefinition(row);
  });
}

/**
 * The smallest valid fargate size covering the task's needs: its own cpu and memory and what its
 * containers reserve. Sizes only definitions that may run on fargate; others keep their numbers.
 */
function autoSize(input: Omit<Input, "size">): { cpu: number; memory: number } {
  const need = {
    cpu: Math.max(input.cpu, sum(input.containers.map((container) => container.cpu ?? 0))),
    memory: Math.max(input.memory, ...input.containers.map((container) => container.memory ?? 0)),
  };
  if (!input.compatibilities.includes("fargate")) return need;
  const size = smallestFargateSizeCovering(need);
  if (!size) {
    throw new ApiError(
      "ValidationError",
      `size: no fargate size has ${need.cpu} cpu units and ${need.memory} MiB (the largest is 16384 with 122880 MiB)`,
    );
  }
  return size;
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** `family` (the latest revision) or `family:revision`. */
export async function findTaskDefinition(db: Database, ref: string): Promise<TaskDefinition> {
  const [family, revisionText] = ref.split(":") as [string, string | undefined];
  const revision = revisionText === undefined ? undefined : Number(revisionText);
  if (revision !== undefined && !Number.isInteger(revision))
    throw new ApiError("ValidationError", `bad revision in ${ref}`);
  const [row] = await db
    .select()
    .from(taskDefinitions)
    .where(
      revision === undefined
        ? eq(taskDefinitions.family, family)
        : and(eq(taskDefinitions.family, family), eq(taskDefinitions.revision, revision)),
    )
    .orderBy(desc(taskDefinitions.revision))
    .limit(1);
  if (!row) throw notFound(`task definition ${ref}`);
  return toTaskDefinition(row);
}

/** By name; the cursor is the last family of the previous page. */
export async function listFamilies(
  db: Database,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ items: { family: string; latestRevision: number }[]; nextCursor: string | null }> {
  const rows = await db
    .select({
      family: taskDefinitions.family,
      latestRevision: sql<number>`max(${taskDefinitions.revision})::int`,
    })
    .from(taskDefinitions)
    .where(page.cursor ? gt(taskDefinitions.family, page.cursor) : undefined)
    .groupBy(taskDefinitions.family)
    .orderBy(taskDefinitions.family)
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit);
  return { items, nextCursor: rows.length > page.limit ? (items.at(-1)?.family ?? null) : null };
}

/** Refuses a launch type the task definition is not compatible with. */
export function ensureLaunchable(definition: TaskDefinition, launchType: "pool" | "fargate"): void {
  if (!definition.compatibilities.includes(launchType)) {
    throw new ApiError(
      "UnprocessableEntity",
      `task definition ${definition.family}:${definition.revision} is not compatible with launch type ${launchType}`,
    );
  }
  // Definitions registered fargate-compatible were checked then; this guards older rows.
  const size = { cpu: definition.cpu, memory: definition.memory };
  if (launchType === "fargate" && !isValidFargateSize(size))
    throw new ApiError("UnprocessableEntity", fargateSizeError(size));
}
