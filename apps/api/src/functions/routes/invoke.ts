import { IncomingMessage } from "node:http";
import { createRoute, z } from "@hono/zod-openapi";
import { functionLimits } from "@skiff/shared";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { authorized, requireScope } from "../../lib/auth.js";
import type { AppEnv } from "../../lib/hono-env.js";
import { authErrors, errorResponses, newRouter } from "../../lib/openapi.js";
import { enqueueEvent } from "../services/async-queue.js";
import { invokeFunction } from "../services/invoke.js";
import { functionNotFound, LambdaError } from "../services/lambda-errors.js";

// Lambda's Invoke (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html), answered in
// Lambda's shapes so AWS's SDKs and CLI understand it; Skiff bearer tokens for now (SigV4 later).

const invocationTypes = ["RequestResponse", "Event", "DryRun"] as const;
/** Lambda: "Up to 3,583 bytes of base64-encoded data". */
const maxClientContextLength = 3583;

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
  try {
    return await handleInvoke(c);
  } catch (error) {
    if (error instanceof LambdaError) return lambdaErrorResponse(c, error);
    throw error;
  }
});

async function handleInvoke(c: Context<AppEnv>): Promise<Response> {
  const services = c.get("services");
  const runtime = services.functions;
  const requestId = crypto.randomUUID();
  c.header("x-amzn-requestid", requestId);

  // Names and qualifiers are looked up in PostgreSQL, whose text cannot hold a NUL.
  const nul = "\u0000";
  if ((c.req.param("name") ?? "").includes(nul))
    throw new LambdaError(
      400,
      "InvalidParameterValueException",
      "FunctionName: contains a NUL character",
    );
  if ((c.req.query("Qualifier") ?? "").includes(nul))
    throw new LambdaError(
      400,
      "InvalidParameterValueException",
      "Qualifier: contains a NUL character",
    );

  const type = c.req.header("x-amz-invocation-type") ?? "RequestResponse";
  if (!(invocationTypes as readonly string[]).includes(type))
    throw new LambdaError(
      400,
      "InvalidParameterValueException",
      `X-Amz-Invocation-Type must be one of ${invocationTypes.join(", ")}`,
    );
  const logType = c.req.header("x-amz-log-type") ?? "None";
  if (logType !== "None" && logType !== "Tail")
    throw new LambdaError(
      400,
      "InvalidParameterValueException",
      "X-Amz-Log-Type must be None or Tail",
    );
  const clientContext = c.req.header("x-amz-client-context") || undefined;
  if (clientContext !== undefined) checkClientContext(clientContext);

  const name = functionNameOf(c.req.param("name") ?? "");
  const qualifier = c.req.query("Qualifier");
  const fn = name ? await runtime.directory.get(name) : undefined;
  if (!fn || (qualifier !== undefined && qualifier !== "$LATEST"))
    throw functionNotFound(name, fn ? `${fn.arn}:${qualifier}` : "");

  // Lambda reads the whole request before it checks the function's limit of this type.
  const limit =
    type === "Event" ? functionLimits.asyncPayloadBytes : functionLimits.syncPayloadBytes;
  const payload = await readPayload(c, limit, type === "Event" ? "InvokeAsync" : "Invoke");
  if (type === "DryRun") return c.body(null, 204);
  if (type === "Event") {
    if (!fn.code) throw pending();
    await enqueueEvent(runtime, fn, payload, { requestId });
    return c.body(null, 202);
  }
  const result = await invokeFunction(runtime, fn, payload, {
    requestId,
    clientContext,
    logTail: logType === "Tail",
  });
  c.header("x-amz-executed-version", "$LATEST");
  if (result.functionError) c.header("x-amz-function-error", "Unhandled");
  if (logType === "Tail" && result.logResult !== undefined)
    c.header("x-amz-log-result", result.logResult);
  c.header("content-type", "application/json");
  return c.body(new Uint8Array(result.body), 200);
}

const pending = () =>
  new LambdaError(
    409,
    "ResourceConflictException",
    "The operation cannot be performed at this time. The function is currently in the following state: Pending",
  );

/** A function's name from what Invoke accepts: a name, `account:function:name` or a full ARN. */
function functionNameOf(given: string): string {
  const arn =
    /^(?:arn:aws[a-z-]*:lambda:[a-z0-9-]*:\d*:)?(?:\d{12}:)?function:([^:]+)(?::.*)?$/.exec(given);
  const name = arn?.[1] ?? given;
  return /^[A-Za-z0-9_-]{1,140}$/.test(name) ? name : "";
}

function checkClientContext(value: string): void {
  if (value.length > maxClientContextLength)
    throw new LambdaError(
      400,
      "InvalidParameterValueException",
      `Client context must be at most ${maxClientContextLength} bytes of base64`,
    );
  const invalid = new LambdaError(
    400,
    "InvalidRequestContentException",
    "Client context must be a valid Base64-encoded JSON object.",
  );
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw invalid;
  try {
    const context = JSON.parse(Buffer.from(value, "base64").toString("utf8"));
    if (context === null || typeof context !== "object" || Array.isArray(context)) throw invalid;
  } catch {
    throw invalid;
  }
}

/**
 * The event's bytes, read up to `limit` (so a huge body is refused without being held in
 * memory), checked to be JSON. An empty body is the event `{}`, as Lambda takes it.
 */
async function readPayload(c: Context<AppEnv>, limit: number, operation: string): Promise<Buffer> {
  const tooLarge = () =>
    new LambdaError(
      413,
      "RequestTooLargeException",
      `Request must be smaller than ${limit} bytes for the ${operation} operation`,
    );
  const declared = Number(c.req.header("content-length") ?? Number.NaN);
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  const body = bodyOf(c);
  if (body) {
    for await (const chunk of body) {
      size += chunk.byteLength;
      if (size > limit) throw tooLarge();
      chunks.push(Buffer.from(chunk));
    }
  }
  const payload = Buffer.concat(chunks, size);
  if (payload.toString("utf8").trim() === "") return Buffer.from("{}");
  try {
    JSON.parse(payload.toString("utf8"));
  } catch (error) {
    throw new LambdaError(
      400,
      "InvalidRequestContentException",
      `Could not parse request body into json: ${(error as Error).message}`,
    );
  }
  return payload;
}

/** Lambda's error answer: the status, `X-Amzn-ErrorType` and `{Type, message, ...}`. */
export function lambdaErrorResponse(c: Context<AppEnv>, error: LambdaError): Response {
  c.header("x-amzn-errortype", error.type);
  return c.json(
    { Type: error.side, message: error.message, ...error.extra },
    error.status as ContentfulStatusCode,
  );
}

/**
 * The request body as Node serves it when it does (read straight from the socket: making the web
 * Request around it costs more than the rest of a warm invoke), else the web Request's.
 */
function bodyOf(c: Context<AppEnv>): AsyncIterable<Uint8Array> | null {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  if (incoming instanceof IncomingMessage) return incoming;
  return c.req.raw.body as AsyncIterable<Uint8Array> | null;
}
