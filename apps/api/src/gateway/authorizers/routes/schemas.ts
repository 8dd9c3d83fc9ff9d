import { z } from "@hono/zod-openapi";
import { nameSchema } from "@skiff/shared";
import { createLocalJWKSet } from "jose";
import { urlTargetProblem } from "../../apis/services/url-target.js";
import { identitySourcePattern } from "../services/identity-source.js";

const identitySourceSchema = z
  .string()
  .max(300)
  .regex(
    identitySourcePattern,
    "must be $request.header.<name> or $request.querystring.<name> (route.request.header.<name> or route.request.querystring.<name> on WebSocket APIs)",
  );

/** The gateway fetches keys from it: never the node's metadata service (as URL targets). */
const httpUrl = z
  .string()
  .max(2048)
  .superRefine((url, ctx) => {
    const problem = urlTargetProblem(url);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** An inline JWKS: checked by jose as the gateway will read it, so a bad one is a 400 now. */
const jwksSchema = z
  .object({ keys: z.array(z.record(z.string(), z.unknown())).min(1).max(100) })
  .superRefine((jwks, ctx) => {
    try {
      createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: `not a JWKS: ${(error as Error).message}` });
    }
  });

export const jwtConfigSchema = z
  .strictObject({
    issuer: httpUrl.describe("The `iss` tokens must carry"),
    audience: z.array(z.string().min(1).max(500)).min(1).max(50).describe("`aud`: one of these"),
    jwksUri: httpUrl.optional().describe("The issuer's keys; default: OpenID discovery"),
    keys: jwksSchema.optional().describe("An inline JWKS instead of jwksUri"),
  })
  .refine((v) => !(v.jwksUri && v.keys), {
    message: "give jwksUri or keys, not both",
    path: ["keys"],
  });

const jwtAuthorizerSchema = z.strictObject({
  name: nameSchema,
  type: z.literal("JWT"),
  identitySource: z
    .union([identitySourceSchema, z.array(identitySourceSchema).length(1)])
    .default("$request.header.Authorization")
    .describe("Where the token is (a Bearer prefix is dropped)"),
  jwt: jwtConfigSchema,
});

const requestAuthorizerSchema = z.strictObject({
  name: nameSchema,
  type: z.literal("REQUEST"),
  function: nameSchema.describe("The function that decides"),
  identitySource: z
    .array(identitySourceSchema)
    .min(1)
    .max(10)
    .describe("Values that must be present; the decision is cached per their values"),
  resultTtlInSeconds: z.number().int().min(0).max(3600).default(300),
  payloadFormatVersion: z.literal("2.0").default("2.0"),
  enableSimpleResponses: z
    .boolean()
    .default(true)
    .describe("true: the function answers {isAuthorized, context}; false: an IAM policy"),
});

export const createAuthorizerSchema = z.discriminatedUnion("type", [
  jwtAuthorizerSchema,
  requestAuthorizerSchema,
]);

/** What a PATCH may change; the type stays (delete and create to change it). */
export const updateAuthorizerSchema = z.strictObject({
  name: nameSchema.optional(),
  identitySource: z
    .union([identitySourceSchema, z.array(identitySourceSchema).min(1).max(10)])
    .optional(),
  jwt: jwtConfigSchema.optional(),
  function: nameSchema.optional(),
  resultTtlInSeconds: z.number().int().min(0).max(3600).optional(),
  enableSimpleResponses: z.boolean().optional(),
});

export const authorizerSchema = z
  .object({
    id: z.string(),
    apiId: z.string(),
    name: z.string(),
    type: z.enum(["JWT", "REQUEST"]),
    identitySource: z.array(z.string()),
    jwt: z
      .object({
        issuer: z.string(),
        audience: z.array(z.string()),
        jwksUri: z.string().optional(),
        keys: z.unknown().optional(),
      })
      .nullable(),
    function: z.string().nullable(),
    resultTtlInSeconds: z.number().nullable(),
    payloadFormatVersion: z.string().nullable(),
    enableSimpleResponses: z.boolean().nullable(),
    createdAt: z.string(),
  })
  .openapi("HttpApiAuthorizer");
