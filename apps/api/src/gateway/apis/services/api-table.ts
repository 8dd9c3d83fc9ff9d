import { eq } from "drizzle-orm";
import type { Redis } from "ioredis";
import type { Database } from "../../../db/client.js";
import { functions } from "../../../functions/schema/functions.js";
import type { Logger } from "../../../lib/logger.js";
import type { Throttle } from "../../access.js";
import { apiAuthorizers } from "../../authorizers/schema/authorizers.js";
import {
  type LoadedAuthorizer,
  type LoadedRouteAuthorization,
  loadedAuthorizer,
  loadedRouteAuthorization,
} from "../../authorizers/services/loaded.js";
import { ReloadedTable } from "../../reloaded-table.js";
import { defaultRouteSelectionExpression } from "../../websockets/services/route-rules.js";
import {
  apiRoutes,
  apis,
  type CorsConfig,
  domainNames,
  functionUrls,
  type RouteTarget,
} from "../schema/apis.js";
import { apisChannel } from "./changes.js";
import { RouteMatcher } from "./route-matcher.js";

export interface LoadedRoute {
  id: string;
  routeKey: string;
  /** The route key's path ("/items/{id}"), or "$default": payload 1.0's `resource`. */
  resource: string;
  target: RouteTarget;
  apiKeyRequired: boolean;
  throttle: Throttle | undefined;
  /** Undefined: anyone may call it (authorizationType NONE). */
  authorization?: LoadedRouteAuthorization | undefined;
}

export interface LoadedApi {
  id: string;
  name: string;
  protocolType: "HTTP" | "WEBSOCKET";
  /** WebSocket APIs: the selection expression and routes by key (`routes` stays empty). */
  websocket?: { selectionExpression: string; routes: Map<string, LoadedRoute> };
  cors: CorsConfig | undefined;
  throttle: Throttle | undefined;
  routes: RouteMatcher<LoadedRoute>;
}

/** What a host name serves, besides `<service>.<domain>`. */
export type HostEntry = { api: LoadedApi } | { service: string };

export interface ApiSnapshot {
  /** APIs by name: `<name>.<domain>`. */
  byName: Map<string, LoadedApi>;
  /** Custom host names (lowercase). */
  hosts: Map<string, HostEntry>;
  /** Functions whose URL is on, by function name. */
  functionUrls: Map<string, { authType: "NONE" | "SKIFF_TOKEN" }>;
  /** Origins of URL targets: their keep-alive pools are kept, as targets' are. */
  urlOrigins: Set<string>;
  /** Functions that routes and function URLs invoke. */
  functionNames: Set<string>;
}

const empty: ApiSnapshot = {
  byName: new Map(),
  hosts: new Map(),
  functionUrls: new Map(),
  urlOrigins: new Set(),
  functionNames: new Set(),
};

/** Every API with its routes compiled, custom host names, function URLs, authorizers: five queries. */
export async function loadApis(db: Database, logger: Logger): Promise<ApiSnapshot> {
  const [apiRows, routeRows, hostRows, urlRows, authorizerRows] = await Promise.all([
    db.select().from(apis),
    db.select().from(apiRoutes),
    db.select().from(domainNames),
    db
      .select({ name: functions.name, authType: functionUrls.authType })
      .from(functionUrls)
      .innerJoin(functions, eq(functions.id, functionUrls.functionId)),
    db.select().from(apiAuthorizers),
  ]);
  const authorizers = new Map<string, LoadedAuthorizer>();
  for (const row of authorizerRows) authorizers.set(row.id, loadedAuthorizer(row));
  const routesOf = new Map<string, LoadedRoute[]>();
  const urlOrigins = new Set<string>();
  const functionNames = new Set<string>();
  for (const row of routeRows) {
    if ("url" in row.target) urlOrigins.add(new URL(row.target.url).origin);
    if ("function" in row.target) functionNames.add(row.target.function);
    const list = routesOf.get(row.apiId) ?? [];
    const space = row.routeKey.indexOf(" ");
    list.push({
      id: row.id,
      routeKey: row.routeKey,
      resource: space === -1 ? row.routeKey : row.routeKey.slice(space + 1),
      target: row.target,
      apiKeyRequired: row.apiKeyRequired,
      throttle: row.throttle ?? undefined,
      authorization: loadedRouteAuthorization(row, authorizers),
    });
    routesOf.set(row.apiId, list);
  }
  const byId = new Map<string, LoadedApi>();
  const byName = new Map<string, LoadedApi>();
  for (const row of apiRows) {
    let matcher: RouteMatcher<LoadedRoute>;
    if (row.protocolType === "WEBSOCKET") {
      const routes = new Map((routesOf.get(row.id) ?? []).map((r) => [r.routeKey, r]));
      const api: LoadedApi = {
        id: row.id,
        name: row.name,
        protocolType: "WEBSOCKET",
        websocket: {
          selectionExpression: row.routeSelectionExpression ?? defaultRouteSelectionExpression,
          routes,
        },
        cors: undefined,
        throttle: row.throttle ?? undefined,
        routes: new RouteMatcher<LoadedRoute>([], (route) => route.routeKey),
      };
      byId.set(row.id, api);
      byName.set(row.name, api);
      continue;
    }
    try {
      matcher = new RouteMatcher(routesOf.get(row.id) ?? [], (route) => route.routeKey);
    } catch (error) {
      // Keys are validated on write; a row that does not parse leaves its API without routes.
      logger.error({ err: error, api: row.name }, "an API's routes do not compile; serving none");
      matcher = new RouteMatcher<LoadedRoute>([], (route) => route.routeKey);
    }
    const api: LoadedApi = {
      id: row.id,
      name: row.name,
      protocolType: "HTTP",
      cors: row.cors ?? undefined,
      throttle: row.throttle ?? undefined,
      routes: matcher,
    };
    byId.set(row.id, api);
    byName.set(row.name, api);
  }
  const hosts = new Map<string, HostEntry>();
  for (const row of hostRows) {
    const api = row.apiId ? byId.get(row.apiId) : undefined;
    if (api) hosts.set(row.hostname, { api });
    else if (row.service) hosts.set(row.hostname, { service: row.service });
  }
  const urls = new Map<string, { authType: "NONE" | "SKIFF_TOKEN" }>();
  for (const row of urlRows) {
    urls.set(row.name, { authType: row.authType });
    functionNames.add(row.name);
  }
  for (const authorizer of authorizers.values())
    if (authorizer.type === "REQUEST") functionNames.add(authorizer.function);
  return { byName, hosts, functionUrls: urls, urlOrigins, functionNames };
}

/**
 * The gateway's copy of APIs, host names and function URLs, so no request touches PostgreSQL:
 * reloaded whole when the api publishes a change and every few seconds (ReloadedTable).
 */
export class ApiTable extends ReloadedTable<ApiSnapshot> {
  constructor(
    db: Database,
    redis: Redis,
    logger: Logger,
    refreshMs = 5_000,
    /** Called after each load (the gateway warms the function configs routes invoke). */
    onLoad?: (snapshot: ApiSnapshot) => void,
  ) {
    super({
      redis,
      channel: apisChannel,
      logger,
      load: () => loadApis(db, logger),
      initial: empty,
      what: "gateway APIs",
      refreshMs,
      ...(onLoad ? { onLoad } : {}),
    });
  }
}
