import { boolean, jsonb, pgTable, text, timestamp, unique } from "drizzle-orm/pg-core";
import { functions } from "../../../functions/schema/functions.js";
import type { Throttle } from "../../access.js";

/** CORS of an HTTP API, as API Gateway's `CorsConfiguration`. */
export interface CorsConfig {
  allowOrigins: string[];
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAge: number | null;
  allowCredentials: boolean;
}

/** What a route sends its requests to. */
export type RouteTarget =
  | { function: string; payloadFormatVersion: "2.0" | "1.0"; timeoutMs: number }
  | { service: string }
  | { url: string };

/** APIs (API Gateway v2, protocol HTTP or WEBSOCKET): served at `<name>.<SKIFF_DOMAIN>`. */
export const apis = pgTable("apis", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  description: text("description"),
  protocolType: text("protocol_type", { enum: ["HTTP", "WEBSOCKET"] })
    .notNull()
    .default("HTTP"),
  /** WebSocket APIs: where a message's route key is read (`$request.body.action`). */
  routeSelectionExpression: text("route_selection_expression"),
  cors: jsonb("cors").$type<CorsConfig>(),
  throttle: jsonb("throttle").$type<Throttle>(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/** An API's routes: `routeKey` is unique per API (`GET /items/{id}`, `ANY /{proxy+}`, `$default`). */
export const apiRoutes = pgTable(
  "api_routes",
  {
    id: text("id").primaryKey(),
    apiId: text("api_id")
      .notNull()
      .references(() => apis.id, { onDelete: "cascade" }),
    routeKey: text("route_key").notNull(),
    target: jsonb("target").$type<RouteTarget>().notNull(),
    apiKeyRequired: boolean("api_key_required").notNull().default(false),
    throttle: jsonb("throttle").$type<Throttle>(),
    /** Who may call it (gateway/authorizers): NONE, a JWT authorizer's or a function's say. */
    authorizationType: text("authorization_type", { enum: ["NONE", "JWT", "CUSTOM"] })
      .notNull()
      .default("NONE"),
    authorizerId: text("authorizer_id"),
    /** JWT: the token needs one of these scopes. */
    authorizationScopes: jsonb("authorization_scopes").$type<string[]>(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  // The unique index serves lookups by API too (api_id leads it).
  (table) => [unique("api_routes_api_route_key_unique").on(table.apiId, table.routeKey)],
);

/** Custom host names: each serves one API or one service. */
export const domainNames = pgTable("domain_names", {
  hostname: text("hostname").primaryKey(),
  apiId: text("api_id").references(() => apis.id, { onDelete: "cascade" }),
  /** A service by name, no foreign key: a service deleted and created again keeps its host name. */
  service: text("service"),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/** Function URLs (`<function>.fn.<SKIFF_DOMAIN>`): a row per function whose URL is enabled. */
export const functionUrls = pgTable("function_urls", {
  functionId: text("function_id")
    .primaryKey()
    .references(() => functions.id, { onDelete: "cascade" }),
  authType: text("auth_type", { enum: ["NONE", "SKIFF_TOKEN"] }).notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});
