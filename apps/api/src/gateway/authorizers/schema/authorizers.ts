import { boolean, integer, jsonb, pgTable, text, timestamp, unique } from "drizzle-orm/pg-core";
import { apis } from "../../apis/schema/apis.js";

/** A JWT authorizer's token check, as API Gateway's `JwtConfiguration` plus where the keys are. */
export interface JwtConfig {
  issuer: string;
  audience: string[];
  /** The issuer's JWKS; without it (and without `keys`), found by OpenID discovery. */
  jwksUri?: string | undefined;
  /** An inline JWKS, for issuers whose keys are not served over HTTP. */
  keys?: { keys: Record<string, unknown>[] } | undefined;
}

/**
 * An HTTP API's authorizers (API Gateway v2 `Authorizer`): JWT (tokens checked by the gateway)
 * or REQUEST (a function decides). Routes name one by id (`api_routes.authorizer_id`).
 */
export const apiAuthorizers = pgTable(
  "api_authorizers",
  {
    id: text("id").primaryKey(),
    apiId: text("api_id")
      .notNull()
      .references(() => apis.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    type: text("type", { enum: ["JWT", "REQUEST"] }).notNull(),
    /** Selection expressions: `$request.header.X`, `$request.querystring.X`. */
    identitySource: jsonb("identity_source").$type<string[]>().notNull(),
    jwt: jsonb("jwt").$type<JwtConfig>(),
    /** REQUEST: the function that decides, by name. */
    function: text("function"),
    resultTtlInSeconds: integer("result_ttl_in_seconds"),
    payloadFormatVersion: text("payload_format_version", { enum: ["2.0"] }),
    enableSimpleResponses: boolean("enable_simple_responses"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [unique("api_authorizers_api_name_unique").on(table.apiId, table.name)],
);
