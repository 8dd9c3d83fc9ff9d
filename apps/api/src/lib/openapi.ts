import { OpenAPIHono, type z } from "@hono/zod-openapi";
import { type ErrorCode, errorBodySchema, errorStatus } from "@skiff/shared";
import { errorResponse } from "./error-body.js";
import type { AppEnv } from "./hono-env.js";

/**
 * A router for one resource. Failed request validation answers with the one error body, naming
 * each bad field by its path.
 */
export function newRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const problems = result.error.issues.map((issue) => {
        const path = issue.path.join(".");
        return path ? `${path}: ${issue.message}` : issue.message;
      });
      return errorResponse(
        c,
        "ValidationError",
        `invalid ${result.target}: ${problems.join("; ")}`,
      );
    },
  });
}

/** OpenAPI response entries for the error codes a route can answer with. */
export function errorResponses(...codes: ErrorCode[]) {
  const responses: Record<
    number,
    { description: string; content: { "application/json": { schema: typeof errorBodySchema } } }
  > = {};
  for (const code of codes) {
    const status = errorStatus[code];
    const previous = responses[status]?.description;
    responses[status] = {
      description: previous ? `${previous} or ${code}` : code,
      content: { "application/json": { schema: errorBodySchema } },
    };
  }
  return responses;
}

/** The errors of every authenticated route. */
export const authErrors = ["Unauthorized", "Forbidden"] as const satisfies ErrorCode[];

/** The `content` of a JSON request or response in a route definition. */
export const jsonContent = <T extends z.ZodType>(schema: T) => ({ "application/json": { schema } });
