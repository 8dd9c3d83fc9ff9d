import { createRoute, z } from "@hono/zod-openapi";
import { listNodesQuerySchema, nodeSchema, pageSchema } from "@skiff/shared";
import { authorized } from "../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";
import { deregisterNode, drainNode, getNode, listNodes } from "../services/nodes.js";

const idParam = z.object({ id: z.string().max(64) });

const list = createRoute({
  method: "get",
  path: "/v1/nodes",
  tags: ["nodes"],
  summary: "List nodes, oldest first",
  ...authorized("read"),
  request: { query: listNodesQuerySchema },
  responses: {
    200: { description: "A page of nodes", content: jsonContent(pageSchema(nodeSchema)) },
    ...errorResponses("ValidationError", ...authErrors),
  },
});

const get = createRoute({
  method: "get",
  path: "/v1/nodes/{id}",
  tags: ["nodes"],
  summary: "One node",
  ...authorized("read"),
  request: { params: idParam },
  responses: {
    200: { description: "The node", content: jsonContent(nodeSchema) },
    ...errorResponses("NotFound", ...authErrors),
  },
});

const drain = createRoute({
  method: "post",
  path: "/v1/nodes/{id}/drain",
  tags: ["nodes"],
  summary: "Stop placing tasks on a node",
  ...authorized("admin"),
  request: { params: idParam },
  responses: {
    200: { description: "The node, draining", content: jsonContent(nodeSchema) },
    ...errorResponses("NotFound", ...authErrors),
  },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/nodes/{id}",
  tags: ["nodes"],
  summary: "Deregister a node that runs no task (or is down)",
  ...authorized("admin"),
  request: { params: idParam },
  responses: {
    204: { description: "Deregistered" },
    ...errorResponses("NotFound", "Conflict", ...authErrors),
  },
});

export const nodeRoutes = newRouter()
  .openapi(list, async (c) =>
    c.json(await listNodes(c.get("services").db, c.req.valid("query")), 200),
  )
  .openapi(get, async (c) =>
    c.json(await getNode(c.get("services").db, c.req.valid("param").id), 200),
  )
  .openapi(drain, async (c) =>
    c.json(await drainNode(c.get("services").db, c.req.valid("param").id), 200),
  )
  .openapi(remove, async (c) => {
    await deregisterNode(c.get("services").db, c.req.valid("param").id);
    return c.body(null, 204);
  });
