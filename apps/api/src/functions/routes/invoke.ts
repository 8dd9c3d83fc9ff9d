import { IncomingMessage } from "node:http";
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ContentfulStatusCode, StatusCode } from "hono/utils/http-status";
import { authorized, requireScope } from "../../lib/auth.js";
import type { AppEnv } from "../../lib/hono-env.js";
import { authErrors, errorResponses, newRouter } from "../../lib/openapi.js";
import { answerInvoke, invocationTypes } from "./invoke-answer.js";

// Lambda's Invoke, documented in the OpenAPI and served in-process (tests, app.request); the
// api's listener answers it before Hono does (invoke-listener.ts). Skiff bearer tokens for now
// (SigV4 later).

const lambdaErrorSchema = z
  .object({ Type: z.string(), message: z.string(), Reason: z.string().optional() })
  .describe("Lambda's error body; its name is in the X-Amzn-ErrorType header");
const lambdaError = (description: string) => ({
  description,
  content: { "application/json": { schema: lambdaErrorSchema } },
});

const invoke = createRoute({
  method: "post",
  path: "/2015-03-31/functions/{name}/invocations",
  tags: ["functions"],
  summary:
    "Invoke a function (Lambda's Invoke): RequestResponse answers its result, Event queues it (202), DryRun checks (204)",
  ...authorized("deploy"),
  request: {
    params: z.object({ name: z.string().describe("The function's name or ARN") }),
    query: z.object({ Qualifier: z.string().optional().describe("Only $LATEST for now") }),
    headers: z.object({
      "x-amz-invocation-type": z.enum(invocationTypes).optional(),
      "x-amz-log-type": z.enum(["None", "Tail"]).optional(),
      "x-amz-client-context": z.string().optional(),
    }),
    body: {
      required: false,
      description: "The event, JSON (empty: {}); up to 6 MB, 256 KB for Event",
      content: { "application/json": { schema: z.unknown() } },
    },
  },
  responses: {
    200: {
      description:
        "The function's response; with X-Amz-Function-Error: Unhandled, its error document",
      content: { "application/json": { schema: z.unknown() } },
    },
    202: { description: "Event: queued" },
    204: { description: "DryRun: the function exists and may be invoked" },
    400: lambdaError("InvalidRequestContentException, InvalidParameterValueException"),
    404: lambdaError("ResourceNotFoundException"),
    409: lambdaError("ResourceConflictException: the function has no code yet"),
    413: lambdaError("RequestTooLargeException"),
    429: lambdaError("TooManyRequestsException, with Reason"),
    500: lambdaError("ServiceException"),
    ...errorResponses(...authErrors),
  },
});

export const invokeRoutes = newRouter();

// Registered for the OpenAPI document; served by the plain handler below, whose headers and
// body are read by hand so every bad input answers in Lambda's shape, not Skiff's.
const { middleware: _guard, ...documented } = invoke;
invokeRoutes.openAPIRegistry.registerPath(documented);
invokeRoutes.post("/2015-03-31/functions/:name/invocations", requireScope("deploy"), async (c) => {
  const answer = await answerInvoke(c.get("services").functions, {
    name: c.req.param("name") ?? "",
    qualifier: c.req.query("Qualifier"),
    header: (name) => c.req.header(name),
    body: bodyOf(c),
  });
  const { status, headers, body } = answer;
  if (body === null) return c.body(null, status as StatusCode, headers);
  return c.body(
    typeof body === "string" ? body : new Uint8Array(body),
    status as ContentfulStatusCode,
    headers,
  );
});

/**
 * The request body as Node serves it when it does (read straight from the socket: making the web
 * Request around it costs more than the rest of a warm invoke), else the web Request's.
 */
function bodyOf(c: Context<AppEnv>): AsyncIterable<Uint8Array> | null {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  if (incoming instanceof IncomingMessage) return incoming;
  return c.req.raw.body as AsyncIterable<Uint8Array> | null;
}
