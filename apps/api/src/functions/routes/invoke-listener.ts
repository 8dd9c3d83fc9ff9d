import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { type ErrorBody, type ErrorCode, errorStatus } from "@skiff/shared";
import { signIn } from "../../lib/auth.js";
import { requestIdOf } from "../../lib/request-id.js";
import type { Services } from "../../services.js";
import { answerInvoke } from "./invoke-answer.js";

const invokePath = /^\/2015-03-31\/functions\/([^/?]+)\/invocations(?:\?(.*))?$/;

/**
 * The api's request listener: Lambda's Invoke answered on node:http directly, everything else
 * by `next` (Hono). Invoke is the api's hot path, and Hono's web Request and Response around a
 * warm invocation cost a sixth of the api's CPU per call. Same sign-in, request id, log line and
 * answers as the Hono route (invoke.ts), which serves in-process callers.
 */
export function withInvokeListener(services: Services, next: RequestListener): RequestListener {
  return (req, res) => {
    const match = req.method === "POST" ? invokePath.exec(req.url ?? "") : null;
    if (!match) return next(req, res);
    const started = performance.now();
    const requestId = requestIdOf(header(req, "x-request-id"));
    serve(services, req, res, requestId, match)
      .catch((error: unknown) => {
        // A bug or an outage: the details go to the log under the request id, never to the client.
        services.logger.error({ err: error, requestId }, "unhandled error");
        if (!res.headersSent)
          refuse(
            res,
            requestId,
            "Internal",
            "internal error; the request id finds the details in the server log",
          );
        else res.destroy();
      })
      .finally(() =>
        services.logger.info(
          {
            requestId,
            method: req.method,
            path: req.url?.split("?")[0],
            status: res.statusCode,
            ms: Math.round(performance.now() - started),
          },
          "request",
        ),
      );
  };
}

async function serve(
  services: Services,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  [, name = "", query]: RegExpExecArray,
): Promise<void> {
  const signed = await signIn(services, header(req, "authorization"), "deploy");
  if ("refused" in signed) return refuse(res, requestId, signed.refused, signed.message);
  const answer = await answerInvoke(services.functions, {
    name: decoded(name),
    qualifier: query ? (new URLSearchParams(query).get("Qualifier") ?? undefined) : undefined,
    header: (name) => header(req, name),
    body: req,
  });
  const body = answer.body ?? "";
  res.writeHead(answer.status, {
    ...answer.headers,
    "x-request-id": requestId,
    "content-length": String(Buffer.byteLength(body)),
  });
  res.end(body);
}

function refuse(res: ServerResponse, requestId: string, code: ErrorCode, message: string): void {
  const body: ErrorBody = { error: { code, message, requestId } };
  const text = JSON.stringify(body);
  res.writeHead(errorStatus[code], {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
    "x-request-id": requestId,
  });
  res.end(text);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A path parameter percent-decoded as Hono decodes it; undecodable stays as given. */
function decoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
