import { and, asc, eq, gt } from "drizzle-orm";
import type { Database } from "../../../db/client.js";
import { functions } from "../../../functions/schema/functions.js";
import { ApiError, conflict, notFound } from "../../../lib/errors.js";
import { apiRoutes } from "../../apis/schema/apis.js";
import { getApi, newApiId } from "../../apis/services/apis.js";
import { checkAuthorizerForProtocol } from "../../websockets/services/route-rules.js";
import { apiAuthorizers, type JwtConfig } from "../schema/authorizers.js";

type AuthorizerRow = typeof apiAuthorizers.$inferSelect;

export type AuthorizerInput =
  | { name: string; type: "JWT"; identitySource: string | string[]; jwt: JwtConfig }
  | {
      name: string;
      type: "REQUEST";
      function: string;
      identitySource: string[];
      resultTtlInSeconds: number;
      payloadFormatVersion: "2.0";
      enableSimpleResponses: boolean;
    };

export interface AuthorizerChanges {
  name?: string | undefined;
  identitySource?: string | string[] | undefined;
  jwt?: JwtConfig | undefined;
  function?: string | undefined;
  resultTtlInSeconds?: number | undefined;
  enableSimpleResponses?: boolean | undefined;
}

const invalid = (message: string) => new ApiError("ValidationError", message);

export function toAuthorizer(row: AuthorizerRow) {
  return {
    id: row.id,
    apiId: row.apiId,
    name: row.name,
    type: row.type,
    identitySource: row.identitySource,
    jwt: row.jwt,
    function: row.function,
    resultTtlInSeconds: row.resultTtlInSeconds,
    payloadFormatVersion: row.payloadFormatVersion,
    enableSimpleResponses: row.enableSimpleResponses,
    createdAt: row.createdAt.toISOString(),
  };
}

async function ensureFunction(db: Database, name: string): Promise<void> {
  const [row] = await db
    .select({ id: functions.id })
    .from(functions)
    .where(eq(functions.name, name));
  if (!row) throw notFound(`function ${name}`);
}

const asList = (source: string | string[]) => (typeof source === "string" ? [source] : source);

/** Creates an authorizer; 404 for a REQUEST authorizer's unknown function, 409 for a taken name. */
export async function createAuthorizer(
  db: Database,
  apiRef: string,
  input: AuthorizerInput,
): Promise<AuthorizerRow> {
  const api = await getApi(db, apiRef);
  checkAuthorizerForProtocol(api.protocolType, input.type, asList(input.identitySource));
  if (input.type === "REQUEST") await ensureFunction(db, input.function);
  const [row] = await db
    .insert(apiAuthorizers)
    .values(
      input.type === "JWT"
        ? {
            id: newApiId(),
            apiId: api.id,
            name: input.name,
            type: "JWT",
            identitySource: asList(input.identitySource),
            jwt: input.jwt,
          }
        : {
            id: newApiId(),
            apiId: api.id,
            name: input.name,
            type: "REQUEST",
            identitySource: input.identitySource,
            function: input.function,
            resultTtlInSeconds: input.resultTtlInSeconds,
            payloadFormatVersion: input.payloadFormatVersion,
            enableSimpleResponses: input.enableSimpleResponses,
          },
    )
    .onConflictDoNothing()
    .returning();
  if (!row) throw conflict(`API ${api.name} already has an authorizer ${input.name}`);
  return row;
}

export async function listAuthorizers(
  db: Database,
  apiRef: string,
  page: { limit: number; cursor?: string | undefined },
) {
  const api = await getApi(db, apiRef);
  const rows = await db
    .select()
    .from(apiAuthorizers)
    .where(
      and(
        eq(apiAuthorizers.apiId, api.id),
        page.cursor ? gt(apiAuthorizers.id, page.cursor) : undefined,
      ),
    )
    .orderBy(asc(apiAuthorizers.id))
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit);
  return { items, nextCursor: rows.length > page.limit ? (items.at(-1)?.id ?? null) : null };
}

/** An API's authorizer by id or name. */
export async function getAuthorizer(
  db: Database,
  apiRef: string,
  ref: string,
): Promise<AuthorizerRow> {
  const api = await getApi(db, apiRef);
  const rows = await db.select().from(apiAuthorizers).where(eq(apiAuthorizers.apiId, api.id));
  const row = rows.find((r) => r.id === ref) ?? rows.find((r) => r.name === ref);
  if (!row) throw notFound(`authorizer ${ref} of API ${apiRef}`);
  return row;
}

/** Changes what fits the authorizer's type; a field of the other type is a 400. */
export async function updateAuthorizer(
  db: Database,
  apiRef: string,
  ref: string,
  input: AuthorizerChanges,
): Promise<AuthorizerRow> {
  const current = await getAuthorizer(db, apiRef, ref);
  if (input.identitySource !== undefined) {
    const api = await getApi(db, current.apiId);
    checkAuthorizerForProtocol(api.protocolType, current.type, asList(input.identitySource));
  }
  const changes: Partial<AuthorizerRow> = {};
  if (input.name !== undefined) changes.name = input.name;
  if (current.type === "JWT") {
    if (
      input.function !== undefined ||
      input.resultTtlInSeconds !== undefined ||
      input.enableSimpleResponses !== undefined
    )
      throw invalid(
        "function, resultTtlInSeconds and enableSimpleResponses are for REQUEST authorizers",
      );
    if (input.identitySource !== undefined) {
      const list = asList(input.identitySource);
      if (list.length !== 1) throw invalid("a JWT authorizer has one identity source");
      changes.identitySource = list;
    }
    if (input.jwt !== undefined) changes.jwt = input.jwt;
  } else {
    if (input.jwt !== undefined) throw invalid("jwt is for JWT authorizers");
    if (input.identitySource !== undefined) changes.identitySource = asList(input.identitySource);
    if (input.function !== undefined) {
      await ensureFunction(db, input.function);
      changes.function = input.function;
    }
    if (input.resultTtlInSeconds !== undefined)
      changes.resultTtlInSeconds = input.resultTtlInSeconds;
    if (input.enableSimpleResponses !== undefined)
      changes.enableSimpleResponses = input.enableSimpleResponses;
  }
  if (Object.keys(changes).length === 0) return current;
  if (changes.name !== undefined && changes.name !== current.name) {
    const [taken] = await db
      .select({ id: apiAuthorizers.id })
      .from(apiAuthorizers)
      .where(and(eq(apiAuthorizers.apiId, current.apiId), eq(apiAuthorizers.name, changes.name)));
    if (taken) throw conflict(`the API already has an authorizer ${changes.name}`);
  }
  const [row] = await db
    .update(apiAuthorizers)
    .set(changes)
    .where(eq(apiAuthorizers.id, current.id))
    .returning();
  if (!row) throw notFound(`authorizer ${ref}`);
  return row;
}

/** Deletes an authorizer no route uses (409 naming a route that does, as API Gateway refuses). */
export async function deleteAuthorizer(
  db: Database,
  apiRef: string,
  ref: string,
): Promise<AuthorizerRow> {
  const current = await getAuthorizer(db, apiRef, ref);
  const [used] = await db
    .select({ routeKey: apiRoutes.routeKey })
    .from(apiRoutes)
    .where(and(eq(apiRoutes.apiId, current.apiId), eq(apiRoutes.authorizerId, current.id)))
    .limit(1);
  if (used) throw conflict(`route ${used.routeKey} uses authorizer ${current.name}`);
  await db.delete(apiAuthorizers).where(eq(apiAuthorizers.id, current.id));
  return current;
}
