import { randomBytes } from "node:crypto";
import { and, arrayContains, asc, eq, gt, or, sql } from "drizzle-orm";
import { services } from "../../../compute/schema/services.js";
import type { Database } from "../../../db/client.js";
import { conflict, notFound } from "../../../lib/errors.js";
import type { Throttle } from "../../access.js";
import {
  type RouteAuthorizationChanges,
  resolveRouteAuthorization,
} from "../../authorizers/services/route-authorization.js";
import { usagePlans } from "../../keys/schema/usage-plans.js";
import { lockPlans } from "../../keys/services/plan-lock.js";
import {
  checkRouteAccessForProtocol,
  checkRouteForProtocol,
  defaultRouteSelectionExpression,
  type ProtocolType,
} from "../../websockets/services/route-rules.js";
import { apiRoutes, apis, type CorsConfig, domainNames, type RouteTarget } from "../schema/apis.js";

type ApiRow = typeof apis.$inferSelect;
type RouteRow = typeof apiRoutes.$inferSelect;
type DomainRow = typeof domainNames.$inferSelect;
interface PageQuery {
  limit: number;
  cursor?: string | undefined;
}

/** Ids as API Gateway's: ten characters of a-z and 0-9. */
const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
export function newApiId(): string {
  let id = "";
  for (const byte of randomBytes(10)) id += alphabet[byte % alphabet.length];
  return id;
}

export interface ApiInput {
  name: string;
  description?: string | undefined;
  protocolType?: ProtocolType | undefined;
  routeSelectionExpression?: string | undefined;
  cors?: CorsConfig | undefined;
  throttle?: Throttle | undefined;
}

export function toApi(row: ApiRow, endpointOf: (name: string) => string) {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    protocolType: row.protocolType,
    routeSelectionExpression: row.routeSelectionExpression,
    cors: row.cors,
    throttle: row.throttle,
    apiEndpoint: endpointOf(row.name),
    createdAt: row.createdAt.toISOString(),
  };
}

/** Creates an API; 409 for a name an API or a service holds (both answer at `<name>.<domain>`). */
export async function createApi(db: Database, input: ApiInput): Promise<ApiRow> {
  const [service] = await db
    .select({ name: services.name })
    .from(services)
    .where(eq(services.name, input.name));
  if (service)
    throw conflict(
      `service ${input.name} already answers at that host name: an API needs a name no service has`,
    );
  const [row] = await db
    .insert(apis)
    .values({
      id: newApiId(),
      name: input.name,
      description: input.description ?? null,
      protocolType: input.protocolType ?? "HTTP",
      routeSelectionExpression:
        input.protocolType === "WEBSOCKET"
          ? (input.routeSelectionExpression ?? defaultRouteSelectionExpression)
          : null,
      cors: input.cors ?? null,
      throttle: input.throttle ?? null,
    })
    .onConflictDoNothing()
    .returning();
  if (!row) throw conflict(`API ${input.name} already exists`);
  return row;
}

/** An API by id or name. */
export async function getApi(db: Database, ref: string): Promise<ApiRow> {
  const [row] = await db
    .select()
    .from(apis)
    .where(or(eq(apis.id, ref), eq(apis.name, ref)));
  if (!row) throw notFound(`API ${ref}`);
  return row;
}

export async function listApis(db: Database, page: PageQuery) {
  const rows = await db
    .select()
    .from(apis)
    .where(page.cursor ? gt(apis.name, page.cursor) : undefined)
    .orderBy(asc(apis.name))
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit);
  return { items, nextCursor: rows.length > page.limit ? (items.at(-1)?.name ?? null) : null };
}

export async function updateApi(
  db: Database,
  ref: string,
  input: {
    description?: string | null | undefined;
    cors?: CorsConfig | null | undefined;
    throttle?: Throttle | null | undefined;
  },
): Promise<ApiRow> {
  const api = await getApi(db, ref);
  const changes: Partial<ApiRow> = {};
  if (input.description !== undefined) changes.description = input.description;
  if (input.cors !== undefined) changes.cors = input.cors;
  if (input.throttle !== undefined) changes.throttle = input.throttle;
  if (Object.keys(changes).length === 0) return api;
  const [row] = await db.update(apis).set(changes).where(eq(apis.id, api.id)).returning();
  if (!row) throw notFound(`API ${ref}`);
  return row;
}

/** Deletes an API with its routes, and takes it out of the usage plans that named it. */
export async function deleteApi(db: Database, ref: string): Promise<ApiRow> {
  const api = await getApi(db, ref);
  await db.transaction(async (tx) => {
    // Plans check their APIs exist under this lock: without it, a plan written while this
    // transaction runs would keep the deleted id.
    await lockPlans(tx);
    await tx.delete(apis).where(eq(apis.id, api.id));
    await tx
      .update(usagePlans)
      .set({ apiIds: sql`array_remove(${usagePlans.apiIds}, ${api.id})`, updatedAt: sql`now()` })
      .where(arrayContains(usagePlans.apiIds, [api.id]));
  });
  return api;
}

export interface RouteInput extends RouteAuthorizationChanges {
  routeKey: string;
  target: RouteTarget;
  apiKeyRequired: boolean;
  throttle?: Throttle | undefined;
}

export function toRoute(row: RouteRow) {
  return {
    id: row.id,
    apiId: row.apiId,
    routeKey: row.routeKey,
    target: row.target,
    apiKeyRequired: row.apiKeyRequired,
    throttle: row.throttle,
    authorizationType: row.authorizationType,
    authorizerId: row.authorizerId,
    authorizationScopes: row.authorizationScopes,
    createdAt: row.createdAt.toISOString(),
  };
}

export async function createRoute(db: Database, apiRef: string, input: RouteInput) {
  const api = await getApi(db, apiRef);
  checkRouteForProtocol(api.protocolType, input.routeKey, input.target);
  checkRouteAccessForProtocol(api.protocolType, {
    routeKey: input.routeKey,
    apiKeyRequired: input.apiKeyRequired,
    authorizationType: input.authorizationType ?? "NONE",
  });
  const authorization = await resolveRouteAuthorization(
    db,
    api.id,
    { authorizationType: "NONE", authorizerId: null, authorizationScopes: null },
    input,
  );
  const [row] = await db
    .insert(apiRoutes)
    .values({
      id: newApiId(),
      apiId: api.id,
      routeKey: input.routeKey,
      target: input.target,
      apiKeyRequired: input.apiKeyRequired,
      throttle: input.throttle ?? null,
      ...authorization,
    })
    .onConflictDoNothing()
    .returning();
  if (!row) throw conflict(`API ${api.name} already has a route ${input.routeKey}`);
  return row;
}

export async function listRoutes(db: Database, apiRef: string, page: PageQuery) {
  const api = await getApi(db, apiRef);
  const rows = await db
    .select()
    .from(apiRoutes)
    .where(
      and(eq(apiRoutes.apiId, api.id), page.cursor ? gt(apiRoutes.id, page.cursor) : undefined),
    )
    .orderBy(asc(apiRoutes.id))
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit);
  return { items, nextCursor: rows.length > page.limit ? (items.at(-1)?.id ?? null) : null };
}

export async function getRoute(db: Database, apiRef: string, routeId: string): Promise<RouteRow> {
  const api = await getApi(db, apiRef);
  const [row] = await db
    .select()
    .from(apiRoutes)
    .where(and(eq(apiRoutes.apiId, api.id), eq(apiRoutes.id, routeId)));
  if (!row) throw notFound(`route ${routeId} of API ${apiRef}`);
  return row;
}

export async function updateRoute(
  db: Database,
  apiRef: string,
  routeId: string,
  input: Partial<Omit<RouteInput, "throttle">> & { throttle?: Throttle | null | undefined },
): Promise<RouteRow> {
  const route = await getRoute(db, apiRef, routeId);
  const api = await getApi(db, route.apiId);
  checkRouteForProtocol(api.protocolType, input.routeKey, input.target);
  checkRouteAccessForProtocol(api.protocolType, {
    routeKey: input.routeKey ?? route.routeKey,
    apiKeyRequired: input.apiKeyRequired ?? route.apiKeyRequired,
    authorizationType: input.authorizationType ?? route.authorizationType,
  });
  const changes: Partial<RouteRow> = {};
  if (input.routeKey !== undefined) changes.routeKey = input.routeKey;
  if (input.target !== undefined) changes.target = input.target;
  if (input.apiKeyRequired !== undefined) changes.apiKeyRequired = input.apiKeyRequired;
  if (input.throttle !== undefined) changes.throttle = input.throttle;
  if (
    input.authorizationType !== undefined ||
    input.authorizerId !== undefined ||
    input.authorizationScopes !== undefined
  )
    Object.assign(changes, await resolveRouteAuthorization(db, route.apiId, route, input));
  if (Object.keys(changes).length === 0) return route;
  if (changes.routeKey !== undefined && changes.routeKey !== route.routeKey) {
    const [taken] = await db
      .select({ id: apiRoutes.id })
      .from(apiRoutes)
      .where(and(eq(apiRoutes.apiId, route.apiId), eq(apiRoutes.routeKey, changes.routeKey)));
    if (taken) throw conflict(`the API already has a route ${changes.routeKey}`);
  }
  const [row] = await db
    .update(apiRoutes)
    .set(changes)
    .where(eq(apiRoutes.id, route.id))
    .returning();
  if (!row) throw notFound(`route ${routeId}`);
  return row;
}

export async function deleteRoute(db: Database, apiRef: string, routeId: string) {
  const route = await getRoute(db, apiRef, routeId);
  await db.delete(apiRoutes).where(eq(apiRoutes.id, route.id));
  return route;
}

export function toDomainName(row: DomainRow) {
  return {
    hostname: row.hostname,
    apiId: row.apiId,
    service: row.service,
    createdAt: row.createdAt.toISOString(),
  };
}

export async function createDomainName(
  db: Database,
  input: { hostname: string; api?: string | undefined; service?: string | undefined },
): Promise<DomainRow> {
  const apiId = input.api !== undefined ? (await getApi(db, input.api)).id : null;
  if (input.service !== undefined) {
    const [service] = await db
      .select({ name: services.name })
      .from(services)
      .where(eq(services.name, input.service));
    if (!service) throw notFound(`service ${input.service}`);
  }
  const [row] = await db
    .insert(domainNames)
    .values({ hostname: input.hostname, apiId, service: input.service ?? null })
    .onConflictDoNothing()
    .returning();
  if (!row) throw conflict(`host name ${input.hostname} is already mapped`);
  return row;
}

export async function listDomainNames(db: Database, page: PageQuery) {
  const rows = await db
    .select()
    .from(domainNames)
    .where(page.cursor ? gt(domainNames.hostname, page.cursor) : undefined)
    .orderBy(asc(domainNames.hostname))
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit);
  return { items, nextCursor: rows.length > page.limit ? (items.at(-1)?.hostname ?? null) : null };
}

export async function getDomainName(db: Database, hostname: string): Promise<DomainRow> {
  const [row] = await db
    .select()
    .from(domainNames)
    .where(eq(domainNames.hostname, hostname.toLowerCase()));
  if (!row) throw notFound(`host name ${hostname}`);
  return row;
}

export async function deleteDomainName(db: Database, hostname: string): Promise<DomainRow> {
  const row = await getDomainName(db, hostname);
  await db.delete(domainNames).where(eq(domainNames.hostname, row.hostname));
  return row;
}
