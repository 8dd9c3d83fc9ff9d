import {
  type createServiceSchema,
  newId,
  type Service,
  type updateServiceSchema,
} from "@skiff/shared";
import { and, asc, desc, eq, gt, ne } from "drizzle-orm";
import type { z } from "zod";
import type { Database } from "../../db/client.js";
import { apis, serviceDeployments, serviceEvents, services } from "../../db/schema/index.js";
import { ApiError, conflict, notFound } from "../../lib/errors.js";
import { placementFor, poolFor } from "./launch-target.js";
import { ensurePoolExists } from "./pools.js";
import { failureStopCodes, toServices } from "./service-view.js";
import { ensureLaunchable, findTaskDefinition } from "./task-definitions.js";

type CreateInput = z.output<typeof createServiceSchema>;
type UpdateInput = z.output<typeof updateServiceSchema>;

const defaultDeploymentConfig = {
  minimumHealthyPercent: 100,
  maximumPercent: 200,
  circuitBreaker: { enable: true, rollback: true },
};

/**
 * Creates a service and its first deployment; the service scheduler starts its tasks. 409 for a
 * name an API holds: both answer on the gateway at `<name>.<domain>`.
 */
export async function createService(db: Database, input: CreateInput): Promise<Service> {
  const [api] = await db.select({ name: apis.name }).from(apis).where(eq(apis.name, input.name));
  if (api) {
    throw conflict(
      `API ${input.name} already answers at that host name: a service needs a name no API has`,
    );
  }
  const definition = await findTaskDefinition(db, input.taskDefinition);
  ensureLaunchable(definition, input.launchType);
  if (input.loadBalancer) {
    const container = definition.containers.find(
      (c) => c.name === input.loadBalancer?.containerName,
    );
    const exposes = container?.portMappings?.some(
      (mapping) => mapping.containerPort === input.loadBalancer?.containerPort,
    );
    if (!exposes) {
      throw new ApiError(
        "ValidationError",
        `loadBalancer: container ${input.loadBalancer.containerName} of ${definition.family}:${definition.revision} maps no containerPort ${input.loadBalancer.containerPort}`,
      );
    }
  }
  const pool = poolFor(input.launchType, input.pool);
  const placement = placementFor(input.launchType, input.placement, "spread");
  await ensurePoolExists(db, pool);
  await db.transaction(async (tx) => {
    const [row] = await tx
      .insert(services)
      .values({
        name: input.name,
        status: "active",
        desiredCount: input.desiredCount,
        launchType: input.launchType,
        pool,
        deploymentConfig: input.deployment ?? defaultDeploymentConfig,
        placement,
        loadBalancer: input.loadBalancer ?? null,
      })
      .onConflictDoNothing()
      .returning();
    if (!row) throw conflict(`service ${input.name} already exists`);
    await tx.insert(serviceDeployments).values({
      id: newId("dep"),
      service: input.name,
      family: definition.family,
      revision: definition.revision,
      status: "primary",
      rolloutState: "in_progress",
    });
    await tx.insert(serviceEvents).values({
      id: newId("evt"),
      service: input.name,
      message: `service ${input.name} created with ${definition.family}:${definition.revision}`,
    });
  });
  return getService(db, input.name);
}

/** Scales and/or deploys a new revision (a new primary deployment that rolls out). */
export async function updateService(
  db: Database,
  name: string,
  input: UpdateInput,
): Promise<Service> {
  const definition = input.taskDefinition
    ? await findTaskDefinition(db, input.taskDefinition)
    : undefined;
  await db.transaction(async (tx) => {
    const [row] = await tx.select().from(services).where(eq(services.name, name)).for("update");
    if (!row || row.status === "draining") throw notFound(`service ${name}`);
    if (input.desiredCount !== undefined && input.desiredCount !== row.desiredCount) {
      await tx
        .update(services)
        .set({ desiredCount: input.desiredCount })
        .where(eq(services.name, name));
      await addEvent(
        tx,
        name,
        `desired count changed from ${row.desiredCount} to ${input.desiredCount}`,
      );
    }
    if (definition) {
      ensureLaunchable(definition, row.launchType);
      await startDeployment(tx, name, definition.family, definition.revision);
    }
  });
  return getService(db, name);
}

/** Makes `family:revision` the primary deployment; the previous primary keeps running until replaced. */
export async function startDeployment(
  db: Database,
  service: string,
  family: string,
  revision: number,
  reason?: string,
): Promise<void> {
  await db
    .update(serviceDeployments)
    .set({ status: "active" })
    .where(and(eq(serviceDeployments.service, service), eq(serviceDeployments.status, "primary")));
  const id = newId("dep");
  await db.insert(serviceDeployments).values({
    id,
    service,
    family,
    revision,
    status: "primary",
    rolloutState: "in_progress",
    rolloutReason: reason ?? null,
  });
  await addEvent(
    db,
    service,
    `deployment ${id} started: ${family}:${revision}${reason ? ` (${reason})` : ""}`,
  );
}

/** Drains the service: its tasks are stopped, then it is gone. */
export async function deleteService(db: Database, name: string): Promise<Service> {
  const [row] = await db
    .update(services)
    .set({ status: "draining", desiredCount: 0 })
    .where(and(eq(services.name, name), ne(services.status, "draining")))
    .returning();
  if (!row) throw notFound(`service ${name}`);
  await addEvent(db, name, `service ${name} is being deleted; its tasks are stopping`);
  return getService(db, name);
}

export async function addEvent(db: Database, service: string, message: string): Promise<void> {
  await db.insert(serviceEvents).values({ id: newId("evt"), service, message });
}

/** The newest event's message, to avoid repeating the same one every pass. */
export async function lastEventMessage(db: Database, service: string): Promise<string | undefined> {
  const [row] = await db
    .select({ message: serviceEvents.message })
    .from(serviceEvents)
    .where(eq(serviceEvents.service, service))
    .orderBy(desc(serviceEvents.id))
    .limit(1);
  return row?.message;
}

export async function listServiceNames(db: Database): Promise<string[]> {
  const rows = await db.select({ name: services.name }).from(services).orderBy(services.name);
  return rows.map((row) => row.name);
}

/** By name; the cursor is the name of the last service of the previous page. */
export async function listServices(
  db: Database,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ items: Service[]; nextCursor: string | null }> {
  const rows = await db
    .select()
    .from(services)
    .where(page.cursor ? gt(services.name, page.cursor) : undefined)
    .orderBy(asc(services.name))
    .limit(page.limit + 1);
  const items = await toServices(db, rows.slice(0, page.limit));
  return { items, nextCursor: rows.length > page.limit ? (items.at(-1)?.name ?? null) : null };
}

export async function getService(db: Database, name: string): Promise<Service> {
  const [row] = await db.select().from(services).where(eq(services.name, name));
  if (!row) throw notFound(`service ${name}`);
  const [service] = await toServices(db, [row]);
  if (!service) throw notFound(`service ${name}`);
  return service;
}

/** Stop codes that count against a deployment's circuit breaker. */
export function isFailure(stopCode: string | null): boolean {
  return (failureStopCodes as readonly (string | null)[]).includes(stopCode);
}
