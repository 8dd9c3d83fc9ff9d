import type { IncomingMessage, ServerResponse } from "node:http";
import { scopeAllows, type TokenScope } from "@skiff/shared";
import { findValidToken } from "../../../auth/services/tokens.js";
import type { Database } from "../../../db/client.js";
import type { LoadedApi } from "../../apis/services/api-table.js";
import type { ConnectionOp, ConnectionRelay } from "./relay.js";

/** `/@connections/{id}`, or AWS's `/{stage}/@connections/{id}`. */
const managementPath = /^(?:\/[^/?]+)?\/@connections\/([^/?]+)\/?(?:\?.*)?$/;
const bearer = /^Bearer\s+(\S{1,512})$/i;
const manageScope: TokenScope = "deploy";
const maxPostBytes = 128 * 1024;

function answer(res: ServerResponse, status: number, body?: unknown, errorType?: string): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...(errorType ? { "x-amzn-errortype": errorType } : {}),
  });
  res.end(text);
}

/** The connection's id as the path names it, undefined when it does not decode. */
function decodeId(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
  });
}

/**
 * API Gateway's management API on a WebSocket API's host: POST sends the body to the client,
 * GET describes the connection, DELETE closes it; 410 GoneException for a connection no replica
 * holds. AWS signs these calls with IAM; Skiff takes a token with the deploy scope instead.
 * Any other plain HTTP request to the host answers 426: the API speaks WebSocket only.
 */
export async function serveManagement(
  req: IncomingMessage,
  res: ServerResponse,
  api: LoadedApi,
  relay: ConnectionRelay,
  db: Database,
): Promise<void> {
  const match = managementPath.exec(req.url ?? "/");
  if (!match) {
    answer(res, 426, { message: "Upgrade Required" });
    return;
  }
  const secret = bearer.exec(req.headers.authorization ?? "")?.[1];
  const token = secret ? await findValidToken(db, secret, new Date()) : undefined;
  if (!token || !scopeAllows(token.scopes as TokenScope[], manageScope)) {
    answer(res, 403, { message: "Forbidden" }, "ForbiddenException");
    return;
  }
  const connectionId = decodeId(match[1] as string);
  if (!connectionId || connectionId.length > 128) {
    answer(res, 400, { message: "Invalid connectionId" }, "BadRequestException");
    return;
  }
  let op: ConnectionOp;
  if (req.method === "POST") {
    const data = await readBody(req, maxPostBytes);
    if (!data) {
      answer(res, 413, { message: "Message too long" }, "PayloadTooLargeException");
      return;
    }
    op = { op: "post", data };
  } else if (req.method === "GET") op = { op: "get" };
  else if (req.method === "DELETE") op = { op: "delete" };
  else {
    answer(res, 405, { message: "Method Not Allowed" });
    return;
  }
  const result = await relay.send(api.id, connectionId, op);
  if (result.gone) {
    answer(res, 410, { message: `connection ${connectionId} is gone` }, "GoneException");
    return;
  }
  if (op.op === "get") answer(res, 200, result.info);
  else if (op.op === "delete") answer(res, 204);
  else answer(res, 200);
}
