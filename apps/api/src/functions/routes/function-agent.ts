import { createRoute, z } from "@hono/zod-openapi";
import { fargatePool, functionLogsSchema } from "@skiff/shared";
import { eq } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { hashSecret } from "../../compute/services/credentials.js";
import { nodes } from "../../db/schema/index.js";
import { nodeAuthorized } from "../../lib/auth.js";
import { errorResponse } from "../../lib/error-body.js";
import { ApiError, notFound } from "../../lib/errors.js";
import type { AppEnv } from "../../lib/hono-env.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";
import { readCode } from "../services/function-code.js";
import { appendFunctionLogs } from "../services/function-logs.js";

// Agents' side of functions: the code their instances run, and the lines those instances write.
// Only nodes of the fargate pool run instances, so only their credentials are let through: a
// user's own node (another pool) never sees another team's function code.

const bearer = /^Bearer\s+(\S{1,512})$/i;

/** Any node's credential (the path names no node): 401 without one, 403 outside fargate. */
const requireFargateNode = createMiddleware<AppEnv>(async (c, next) => {
  const secret = bearer.exec(c.req.header("authorization") ?? "")?.[1];
  if (!secret) return errorResponse(c, "Unauthorized", "missing bearer node credential");
  const [node] = await c
    .get("services")
    .db.select()
    .from(nodes)
    .where(eq(nodes.credentialHash, hashSecret(secret)));
  if (!node) return errorResponse(c, "Unauthorized", "the node credential is invalid");
  if (node.pool !== fargatePool)
    return errorResponse(c, "Forbidden", `only nodes of the ${fargatePool} pool run functions`);
  c.set("node", node);
  return next();
});

const fargateOnly = createMiddleware<AppEnv>(async (c, next) => {
  if (c.get("node").pool !== fargatePool)
    return errorResponse(c, "Forbidden", `only nodes of the ${fargatePool} pool run functions`);
  return next();
});

const code = createRoute({
  method: "get",
  path: "/v1/agent/function-code/{sha256}",
  operationId: "agentFunctionCode",
  tags: ["agent"],
  summary: "A function's code zip by its hex SHA-256, for a node of the fargate pool",
  security: [{ nodeCredential: [] }],
  middleware: [requireFargateNode],
  "x-skiff-auth": "node",
  request: { params: z.object({ sha256: z.string().regex(/^[a-f0-9]{64}$/) }) },
  responses: {
    200: {
      description: "The zip",
      content: { "application/zip": { schema: z.string().openapi({ format: "binary" }) } },
    },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

const shipLogs = createRoute({
  method: "post",
  path: "/v1/agent/nodes/{id}/function-logs",
  operationId: "agentShipFunctionLogs",
  tags: ["agent"],
  summary: "Append a batch of a function's log lines (its instances on this node)",
  ...nodeAuthorized(),
  middleware: [...nodeAuthorized().middleware, fargateOnly],
  request: {
    params: z.object({ id: z.string().max(64) }),
    body: { required: true, content: jsonContent(functionLogsSchema) },
  },
  responses: {
    204: { description: "Stored" },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

export const functionAgentRoutes = newRouter()
  .openapi(code, async (c) => {
    const { sha256 } = c.req.valid("param");
    const zip = await readCode(c.get("services").db, sha256);
    if (!zip) throw notFound(`function code ${sha256}`);
    return c.body(new Uint8Array(zip), 200, {
      "content-type": "application/zip",
      "content-length": String(zip.length),
    });
  })
  .openapi(shipLogs, async (c) => {
    const { redis, functionDirectory } = c.get("services");
    const { functionId, lines } = c.req.valid("json");
    // The cached view, not PostgreSQL: agents ship every second per function.
    // A function whose secret cannot be resolved still exists (the lookup names the secret).
    const known = await functionDirectory
      .getById(functionId)
      .then(Boolean, (error: unknown) => error instanceof ApiError);
    if (!known) throw notFound(`function ${functionId}`);
    await appendFunctionLogs(redis, functionId, lines);
    return c.body(null, 204);
  });
