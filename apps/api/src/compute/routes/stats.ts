import { createRoute, z } from "@hono/zod-openapi";
import { statsSchema } from "@skiff/shared";
import { authorized } from "../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";
import { getNode } from "../services/nodes.js";
import { readNodeStats, readTaskStats } from "../services/stats.js";
import { getTask } from "../services/tasks.js";

const idParam = z.object({ id: z.string().max(64) });

const nodeStats = createRoute({
  method: "get",
  path: "/v1/nodes/{id}/stats",
  tags: ["nodes"],
  summary:
    "The node's recent cpu (percent of the host) and memory (MiB) samples, one a heartbeat, oldest first",
  ...authorized("read"),
  request: { params: idParam },
  responses: {
    200: { description: "Samples", content: jsonContent(statsSchema) },
    ...errorResponses("NotFound", ...authErrors),
  },
});

const taskStats = createRoute({
  method: "get",
  path: "/v1/tasks/{id}/stats",
  tags: ["tasks"],
  summary:
    "The task's recent cpu (percent of one core) and memory (MiB) samples, its containers added up, oldest first",
  ...authorized("read"),
  request: { params: idParam },
  responses: {
    200: { description: "Samples", content: jsonContent(statsSchema) },
    ...errorResponses("NotFound", ...authErrors),
  },
});

export const statsRoutes = newRouter()
  .openapi(nodeStats, async (c) => {
    const { db, redis } = c.get("services");
    const { id } = c.req.valid("param");
    await getNode(db, id);
    return c.json({ points: await readNodeStats(redis, id) }, 200);
  })
  .openapi(taskStats, async (c) => {
    const { db, redis } = c.get("services");
    const { id } = c.req.valid("param");
    await getTask(db, id);
    return c.json({ points: await readTaskStats(redis, id) }, 200);
  });
