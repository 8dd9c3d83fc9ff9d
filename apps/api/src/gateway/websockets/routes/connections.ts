import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Redis } from "ioredis";
import { authorized } from "../../../lib/auth.js";
import { ApiError } from "../../../lib/errors.js";
import type { AppEnv } from "../../../lib/hono-env.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../../lib/openapi.js";
import { getApi } from "../../apis/services/apis.js";
import { type ConnectionOp, ConnectionRelay } from "../services/relay.js";

const params = z.object({
  api: z.string().max(100).describe("The WebSocket API's id or name"),
  connectionId: z.string().min(1).max(128).describe("The connection's id (requestContext)"),
});
const tags = ["apis"];
/** API Gateway's limit on a message to a client. */
const maxPostBytes = 128 * 1024;

const connectionSchema = z
  .object({
    connectedAt: z.string(),
    identity: z.object({ sourceIp: z.string(), userAgent: z.string().nullable() }),
    lastActiveAt: z.string(),
  })
  .openapi("WebSocketConnection");

const post = createRoute({
  method: "post",
  path: "/v1/apis/{api}/connections/{connectionId}",
  operationId: "postToConnection",
  tags,
  summary: "Send the request's body to a WebSocket client, on whichever gateway holds it",
  ...authorized("deploy"),
  request: {
    params,
    body: {
      required: true,
      content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } },
    },
  },
  responses: {
    204: { description: "Sent" },
    ...errorResponses("ValidationError", "NotFound", "Gone", "PayloadTooLarge", ...authErrors),
  },
});
const get = createRoute({
  method: "get",
  path: "/v1/apis/{api}/connections/{connectionId}",
  operationId: "getConnection",
  tags,
  summary: "A WebSocket connection: when it opened, its client, when it last sent or received",
  ...authorized("read"),
  request: { params },
  responses: {
    200: { description: "The connection", content: jsonContent(connectionSchema) },
    ...errorResponses("ValidationError", "NotFound", "Gone", ...authErrors),
  },
});
const remove = createRoute({
  method: "delete",
  path: "/v1/apis/{api}/connections/{connectionId}",
  operationId: "deleteConnection",
  tags,
  summary: "Close a WebSocket connection",
  ...authorized("deploy"),
  request: { params },
  responses: {
    204: { description: "Closed" },
    ...errorResponses("ValidationError", "NotFound", "Gone", ...authErrors),
  },
});

/**
 * One relay per Redis connection (so per api process): it keeps a subscriber for the holders'
 * answers, which a relay per request would open and close each time.
 */
const relays = new WeakMap<Redis, Promise<ConnectionRelay>>();
function relayOf(c: Context<AppEnv>): Promise<ConnectionRelay> {
  const { redis, logger } = c.get("services");
  let relay = relays.get(redis);
  if (!relay) {
    const created = new ConnectionRelay({ redis, logger });
    relay = created.start().then(() => created);
    relay.catch(() => relays.delete(redis));
    relays.set(redis, relay);
  }
  return relay;
}

/** Runs `op` on the connection of a WebSocket API; 404 for no such API, 410 for no such connection. */
async function run(c: Context<AppEnv>, op: ConnectionOp) {
  const { api: ref, connectionId } = c.req.param() as z.infer<typeof params>;
  const api = await getApi(c.get("services").db, ref);
  if (api.protocolType !== "WEBSOCKET")
    throw new ApiError("NotFound", `API ${ref} is not a WebSocket API`);
  const answer = await (await relayOf(c)).send(api.id, connectionId, op);
  if (answer.gone) throw new ApiError("Gone", `connection ${connectionId} is gone`);
  return answer;
}

async function readBody(c: Context<AppEnv>): Promise<Buffer> {
  const tooLarge = () =>
    new ApiError("PayloadTooLarge", `a message to a connection is at most ${maxPostBytes} bytes`);
  if (Number(c.req.header("content-length") ?? 0) > maxPostBytes) throw tooLarge();
  const data = Buffer.from(await c.req.arrayBuffer());
  if (data.length > maxPostBytes) throw tooLarge();
  return data;
}

export const connectionRoutes = newRouter()
  .openapi(post, async (c) => {
    await run(c, { op: "post", data: await readBody(c) });
    return c.body(null, 204);
  })
  .openapi(get, async (c) => {
    const answer = await run(c, { op: "get" });
    if (answer.gone || !answer.info) throw new ApiError("Gone", "the connection is gone");
    return c.json(answer.info, 200);
  })
  .openapi(remove, async (c) => {
    await run(c, { op: "delete" });
    return c.body(null, 204);
  });
