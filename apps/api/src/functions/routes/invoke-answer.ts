import { functionLimits } from "@skiff/shared";
import { enqueueEvent } from "../services/async-queue.js";
import type { FunctionsServices } from "../services/functions-runtime.js";
import { invokeFunction } from "../services/invoke.js";
import { functionNotFound, LambdaError } from "../services/lambda-errors.js";

// Lambda's Invoke (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html), answered in
// Lambda's shapes so AWS's SDKs and CLI understand it. Free of any HTTP framework: the Hono
// route (invoke.ts) and the api's plain listener for the hot path (invoke-listener.ts) both
// answer with it.

export const invocationTypes = ["RequestResponse", "Event", "DryRun"] as const;
/** Lambda: "Up to 3,583 bytes of base64-encoded data". */
const maxClientContextLength = 3583;

/** An Invoke request as the HTTP layer hands it over (the caller already signed in). */
export interface InvokeRequest {
  /** The `{name}` path parameter, percent-decoded. */
  name: string;
  /** The `Qualifier` query parameter. */
  qualifier: string | undefined;
  /** A request header by its lower-case name. */
  header(name: string): string | undefined;
  /** The request body as it arrives; null for none. */
  body: AsyncIterable<Uint8Array> | null;
}

export interface InvokeAnswer {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array | string | null;
}

/** Runs an Invoke and answers it, Lambda's errors included; other errors are thrown. */
export async function answerInvoke(
  runtime: FunctionsServices,
  request: InvokeRequest,
): Promise<InvokeAnswer> {
  const requestId = crypto.randomUUID();
  const headers: Record<string, string> = { "x-amzn-requestid": requestId };
  try {
    return await invoke(runtime, request, requestId, headers);
  } catch (error) {
    if (!(error instanceof LambdaError)) throw error;
    headers["x-amzn-errortype"] = error.type;
    headers["content-type"] = "application/json";
    return {
      status: error.status,
      headers,
      body: JSON.stringify({ Type: error.side, message: error.message, ...error.extra }),
    };
  }
}

async function invoke(
  runtime: FunctionsServices,
  request: InvokeRequest,
  requestId: string,
  headers: Record<string, string>,
): Promise<InvokeAnswer> {
  // Names and qualifiers are looked up in PostgreSQL, whose text cannot hold a NUL.
  const nul = "\u0000";
  if (request.name.includes(nul))
    throw new LambdaError(
      400,
      "InvalidParameterValueException",
      "FunctionName: contains a NUL character",
    );
  if ((request.qualifier ?? "").includes(nul))
    throw new LambdaError(
      400,
      "InvalidParameterValueException",
      "Qualifier: contains a NUL character",
    );

  const type = request.header("x-amz-invocation-type") ?? "RequestResponse";
  if (!(invocationTypes as readonly string[]).includes(type))
    throw new LambdaError(
      400,
      "InvalidParameterValueException",
      `X-Amz-Invocation-Type must be one of ${invocationTypes.join(", ")}`,
    );
  const logType = request.header("x-amz-log-type") ?? "None";
  if (logType !== "None" && logType !== "Tail")
    throw new LambdaError(
      400,
      "InvalidParameterValueException",
      "X-Amz-Log-Type must be None or Tail",
    );
  const clientContext = request.header("x-amz-client-context") || undefined;
  if (clientContext !== undefined) checkClientContext(clientContext);

  const name = functionNameOf(request.name);
  const qualifier = request.qualifier;
  const fn = name ? await runtime.directory.get(name) : undefined;
  if (!fn || (qualifier !== undefined && qualifier !== "$LATEST"))
    throw functionNotFound(name, fn ? `${fn.arn}:${qualifier}` : "");

  // Lambda reads the whole request before it checks the function's limit of this type.
  const limit =
    type === "Event" ? functionLimits.asyncPayloadBytes : functionLimits.syncPayloadBytes;
  const payload = await readPayload(request, limit, type === "Event" ? "InvokeAsync" : "Invoke");
  if (type === "DryRun") return { status: 204, headers, body: null };
  if (type === "Event") {
    if (!fn.code) throw pending();
    await enqueueEvent(runtime, fn, payload, { requestId });
    return { status: 202, headers, body: null };
  }
  const result = await invokeFunction(runtime, fn, payload, {
    requestId,
    clientContext,
    logTail: logType === "Tail",
  });
  headers["x-amz-executed-version"] = "$LATEST";
  if (result.functionError) headers["x-amz-function-error"] = "Unhandled";
  if (logType === "Tail" && result.logResult !== undefined)
    headers["x-amz-log-result"] = result.logResult;
  headers["content-type"] = "application/json";
  return { status: 200, headers, body: result.body };
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
async function readPayload(
  request: InvokeRequest,
  limit: number,
  operation: string,
): Promise<Buffer> {
  const tooLarge = () =>
    new LambdaError(
      413,
      "RequestTooLargeException",
      `Request must be smaller than ${limit} bytes for the ${operation} operation`,
    );
  const declared = Number(request.header("content-length") ?? Number.NaN);
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  if (request.body) {
    for await (const chunk of request.body) {
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
