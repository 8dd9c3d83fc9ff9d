import { z } from "@hono/zod-openapi";
import { nameSchema } from "@skiff/shared";
import {
  defaultRouteSelectionExpression,
  isWebSocketRouteKey,
  selectionExpressionProblem,
} from "../../websockets/services/route-rules.js";
import { parseRouteKey, routeMethods } from "../services/route-key.js";
import { urlTargetProblem } from "../services/url-target.js";

/** An API's name is a DNS label: it answers at `<name>.<SKIFF_DOMAIN>`. */
export const apiNameSchema = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    "must be a DNS label: 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'",
  );

export const throttleSchema = z
  .strictObject({
    rateLimit: z.number().positive().max(1_000_000).describe("Steady requests per second"),
    burstLimit: z.number().int().min(1).max(1_000_000).describe("Bucket size"),
  })
  .describe("A throttle, as API Gateway's rate and burst limits");

const headerName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$|^\*$/, "must be a header name or *");
export const corsSchema = z
  .strictObject({
    allowOrigins: z
      .array(
        z
          .string()
          .regex(/^\*$|^https?:\/\/[^/\s]+$/, "must be * or an origin such as https://example.com"),
      )
      .max(100)
      .default([]),
    allowMethods: z.array(z.enum([...routeMethods.filter((m) => m !== "ANY"), "*"])).default([]),
    allowHeaders: z.array(headerName).max(100).default([]),
    exposeHeaders: z.array(headerName).max(100).default([]),
    maxAge: z.number().int().min(0).max(86_400).nullable().default(null),
    allowCredentials: z.boolean().default(false),
  })
  .describe("CORS as API Gateway's CorsConfiguration; preflights are answered by the gateway");

export const createApiSchema = z
  .strictObject({
    name: apiNameSchema,
    description: z.string().max(1024).optional(),
    protocolType: z.enum(["HTTP", "WEBSOCKET"]).default("HTTP"),
    routeSelectionExpression: z
      .string()
      .max(300)
      .superRefine((expression, ctx) => {
        const problem = selectionExpressionProblem(expression);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      })
      .optional()
      .describe(
        `WebSocket APIs: where a message's route key is read (${defaultRouteSelectionExpression})`,
      ),
    cors: corsSchema.optional(),
    throttle: throttleSchema.optional(),
  })
  .refine((v) => v.protocolType === "WEBSOCKET" || v.routeSelectionExpression === undefined, {
    message: "only a WEBSOCKET API has a routeSelectionExpression",
    path: ["routeSelectionExpression"],
  });
export const updateApiSchema = z.strictObject({
  description: z.string().max(1024).nullable().optional(),
  cors: corsSchema.nullable().optional(),
  throttle: throttleSchema.nullable().optional(),
});

export const apiSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    protocolType: z.enum(["HTTP", "WEBSOCKET"]),
    routeSelectionExpression: z.string().nullable(),
    cors: z
      .object({
        allowOrigins: z.array(z.string()),
        allowMethods: z.array(z.string()),
        allowHeaders: z.array(z.string()),
        exposeHeaders: z.array(z.string()),
        maxAge: z.number().nullable(),
        allowCredentials: z.boolean(),
      })
      .nullable(),
    throttle: throttleSchema.nullable(),
    apiEndpoint: z.string().describe("Where the gateway serves it"),
    createdAt: z.string(),
  })
  .openapi("HttpApi");

export const routeKeySchema = z
  .string()
  .max(600)
  .superRefine((key, ctx) => {
    // A WebSocket API's keys ($connect, actions) are checked against the API's protocol later.
    if (isWebSocketRouteKey(key)) return;
    try {
      parseRouteKey(key);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
    }
  })
  .describe(
    'HTTP: "$default", or "METHOD /path" with {param} segments and a last {greedy+}; WebSocket: $connect, $disconnect, $default or an action',
  );

/** API Gateway's integration timeout for HTTP APIs: 30 s at most, 29 s by default. */
export const maxIntegrationTimeoutMs = 30_000;
export const defaultIntegrationTimeoutMs = 29_000;

export const targetSchema = z
  .union([
    z.strictObject({
      function: nameSchema,
      payloadFormatVersion: z.enum(["2.0", "1.0"]).default("2.0"),
      timeoutMs: z
        .number()
        .int()
        .min(50)
        .max(maxIntegrationTimeoutMs)
        .default(defaultIntegrationTimeoutMs),
    }),
    z.strictObject({ service: nameSchema }),
    z.strictObject({
      url: z
        .string()
        .max(2048)
        .superRefine((url, ctx) => {
          const problem = urlTargetProblem(url);
          if (problem) ctx.addIssue({ code: "custom", message: problem });
        }),
    }),
  ])
  .describe("A function (Lambda proxy), a service (its load balancer) or a URL (HTTP proxy)");

const authorizationTypeSchema = z
  .enum(["NONE", "JWT", "CUSTOM"])
  .describe("NONE, JWT (a JWT authorizer) or CUSTOM (a REQUEST authorizer's function)");
const authorizationScopesSchema = z
  .array(z.string().min(1).max(256))
  .max(50)
  .describe("JWT: the token needs one of these scopes (its scope or scp claim)");

export const createRouteSchema = z.strictObject({
  routeKey: routeKeySchema,
  target: targetSchema,
  apiKeyRequired: z.boolean().default(false),
  throttle: throttleSchema.optional(),
  authorizationType: authorizationTypeSchema.default("NONE"),
  authorizerId: z.string().max(100).optional(),
  authorizationScopes: authorizationScopesSchema.optional(),
});
export const updateRouteSchema = z.strictObject({
  routeKey: routeKeySchema.optional(),
  target: targetSchema.optional(),
  apiKeyRequired: z.boolean().optional(),
  throttle: throttleSchema.nullable().optional(),
  authorizationType: authorizationTypeSchema.optional(),
  authorizerId: z.string().max(100).nullable().optional(),
  authorizationScopes: authorizationScopesSchema.nullable().optional(),
});

export const routeSchema = z
  .object({
    id: z.string(),
    apiId: z.string(),
    routeKey: z.string(),
    target: z.unknown(),
    apiKeyRequired: z.boolean(),
    throttle: throttleSchema.nullable(),
    authorizationType: z.enum(["NONE", "JWT", "CUSTOM"]),
    authorizerId: z.string().nullable(),
    authorizationScopes: z.array(z.string()).nullable(),
    createdAt: z.string(),
  })
  .openapi("HttpApiRoute");

export const hostnameSchema = z
  .string()
  .max(253)
  .transform((h) => h.toLowerCase())
  .pipe(
    z
      .string()
      .regex(
        /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
        "must be a host name of two labels or more, e.g. api.example.com",
      ),
  );

export const createDomainNameSchema = z
  .strictObject({
    hostname: hostnameSchema,
    api: z.string().max(100).optional().describe("An API's id or name"),
    service: nameSchema.optional(),
  })
  .refine((v) => (v.api === undefined) !== (v.service === undefined), {
    message: "give exactly one of api and service",
    path: ["api"],
  });

export const domainNameSchema = z
  .object({
    hostname: z.string(),
    apiId: z.string().nullable(),
    service: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("DomainName");

export const functionUrlConfigSchema = z.strictObject({
  authType: z
    .enum(["NONE", "SKIFF_TOKEN"])
    .describe("NONE: anyone may call it; SKIFF_TOKEN: a bearer token with the deploy scope"),
});

export const functionUrlSchema = z
  .object({
    functionName: z.string(),
    functionUrl: z.string(),
    authType: z.enum(["NONE", "SKIFF_TOKEN"]),
    createdAt: z.string(),
  })
  .openapi("FunctionUrl");
