import { and, eq } from "drizzle-orm";
import type { Database } from "../../../db/client.js";
import { ApiError } from "../../../lib/errors.js";
import { apiAuthorizers } from "../schema/authorizers.js";

/** A route's authorization, as stored on `api_routes`. */
export interface RouteAuthorization {
  authorizationType: "NONE" | "JWT" | "CUSTOM";
  authorizerId: string | null;
  authorizationScopes: string[] | null;
}

export interface RouteAuthorizationChanges {
  authorizationType?: "NONE" | "JWT" | "CUSTOM" | undefined;
  authorizerId?: string | null | undefined;
  authorizationScopes?: string[] | null | undefined;
}

const invalid = (message: string) => new ApiError("ValidationError", message);

/**
 * A route's authorization after `changes`, checked against the API's authorizers: JWT names a
 * JWT authorizer, CUSTOM a REQUEST one, NONE none; scopes go with JWT only. NONE clears the
 * authorizer and scopes left from before. Throws a 400 otherwise.
 */
export async function resolveRouteAuthorization(
  db: Database,
  apiId: string,
  current: RouteAuthorization,
  changes: RouteAuthorizationChanges,
): Promise<RouteAuthorization> {
  const type = changes.authorizationType ?? current.authorizationType;
  if (type === "NONE") {
    if (changes.authorizerId) throw invalid("authorizerId needs authorizationType JWT or CUSTOM");
    if (changes.authorizationScopes?.length)
      throw invalid("authorizationScopes need authorizationType JWT");
    return { authorizationType: "NONE", authorizerId: null, authorizationScopes: null };
  }
  const authorizerId =
    changes.authorizerId !== undefined ? changes.authorizerId : current.authorizerId;
  if (!authorizerId) throw invalid(`authorizationType ${type} needs an authorizerId`);
  const scopes =
    changes.authorizationScopes !== undefined
      ? changes.authorizationScopes
      : current.authorizationScopes;
  const [authorizer] = await db
    .select({ type: apiAuthorizers.type })
    .from(apiAuthorizers)
    .where(and(eq(apiAuthorizers.apiId, apiId), eq(apiAuthorizers.id, authorizerId)));
  if (!authorizer) throw invalid(`the API has no authorizer ${authorizerId}`);
  const wanted = type === "JWT" ? "JWT" : "REQUEST";
  if (authorizer.type !== wanted)
    throw invalid(`authorizationType ${type} needs a ${wanted} authorizer, not ${authorizer.type}`);
  if (type === "CUSTOM" && scopes?.length)
    throw invalid("authorizationScopes need authorizationType JWT");
  return {
    authorizationType: type,
    authorizerId,
    authorizationScopes: scopes?.length ? scopes : null,
  };
}
