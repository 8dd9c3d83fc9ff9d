import type { apiAuthorizers, JwtConfig } from "../schema/authorizers.js";

/** An authorizer as the gateway holds it in memory (ApiTable's snapshot). */
export type LoadedAuthorizer =
  | { id: string; name: string; type: "JWT"; identitySource: string[]; jwt: JwtConfig }
  | {
      id: string;
      name: string;
      type: "REQUEST";
      identitySource: string[];
      function: string;
      /** 0: every request asks the function. */
      ttlMs: number;
      /** It answers {isAuthorized, context}; false: an IAM policy. */
      simple: boolean;
    };

/** What a route asks of its callers; undefined on a route with authorizationType NONE. */
export interface LoadedRouteAuthorization {
  type: "JWT" | "CUSTOM";
  /** Undefined only if the row went missing: the route then refuses everything (500). */
  authorizer: LoadedAuthorizer | undefined;
  scopes: string[];
}

export function loadedAuthorizer(row: typeof apiAuthorizers.$inferSelect): LoadedAuthorizer {
  if (row.type === "JWT")
    return {
      id: row.id,
      name: row.name,
      type: "JWT",
      identitySource: row.identitySource,
      jwt: row.jwt ?? { issuer: "", audience: [] },
    };
  return {
    id: row.id,
    name: row.name,
    type: "REQUEST",
    identitySource: row.identitySource,
    function: row.function ?? "",
    ttlMs: (row.resultTtlInSeconds ?? 300) * 1000,
    simple: row.enableSimpleResponses ?? true,
  };
}

/** A route row's authorization, its authorizer looked up among those loaded. */
export function loadedRouteAuthorization(
  route: {
    authorizationType: "NONE" | "JWT" | "CUSTOM";
    authorizerId: string | null;
    authorizationScopes: string[] | null;
  },
  authorizers: ReadonlyMap<string, LoadedAuthorizer>,
): LoadedRouteAuthorization | undefined {
  if (route.authorizationType === "NONE") return undefined;
  return {
    type: route.authorizationType,
    authorizer: route.authorizerId ? authorizers.get(route.authorizerId) : undefined,
    scopes: route.authorizationScopes ?? [],
  };
}
