import { z } from "zod";

// HTTP APIs and their routes as /v1/apis answers them, for the client and the dashboard. The
// request schemas, with their checks of route keys and URL targets, stay in the api
// (gateway/apis/routes/schemas.ts): the api is what refuses bad input.

const throttleShape = z.object({ rateLimit: z.number(), burstLimit: z.number() });

export const httpApiSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
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
  throttle: throttleShape.nullable(),
  /** Where the gateway serves it. */
  apiEndpoint: z.string(),
  createdAt: z.string(),
});
export type HttpApi = z.infer<typeof httpApiSchema>;

export interface CreateHttpApi {
  name: string;
  description?: string;
  throttle?: { rateLimit: number; burstLimit: number };
}

/** A function (Lambda proxy), a service (its load balancer) or a URL (HTTP proxy). */
export type RouteTarget =
  | { function: string; payloadFormatVersion?: "2.0" | "1.0"; timeoutMs?: number }
  | { service: string }
  | { url: string };

export const httpApiRouteSchema = z.object({
  id: z.string(),
  apiId: z.string(),
  routeKey: z.string(),
  target: z.union([
    z.object({ function: z.string(), payloadFormatVersion: z.string(), timeoutMs: z.number() }),
    z.object({ service: z.string() }),
    z.object({ url: z.string() }),
  ]),
  apiKeyRequired: z.boolean(),
  throttle: throttleShape.nullable(),
  createdAt: z.string(),
});
export type HttpApiRoute = z.infer<typeof httpApiRouteSchema>;

export interface CreateHttpApiRoute {
  /** "$default", or "METHOD /path" with {param} segments and a last {greedy+}. */
  routeKey: string;
  target: RouteTarget;
  apiKeyRequired?: boolean;
  throttle?: { rateLimit: number; burstLimit: number };
}
