import { createRoute, z } from "@hono/zod-openapi";
import {
  createUsagePlanSchema,
  listUsagePlansQuerySchema,
  pageSchema,
  updateUsagePlanSchema,
  usagePlanSchema,
} from "@skiff/shared";
import { authorized } from "../../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../../lib/openapi.js";
import { publishKeysChanged } from "../services/changes.js";
import {
  createUsagePlan,
  deleteUsagePlan,
  getUsagePlan,
  listUsagePlans,
  updateUsagePlan,
} from "../services/usage-plans.js";

const idParam = z.object({ id: z.string().min(1).max(64) });

const create = createRoute({
  method: "post",
  path: "/v1/usage-plans",
  operationId: "createUsagePlan",
  tags: ["gateway"],
  summary: "Create a usage plan: APIs, a throttle and a quota per API key",
  ...authorized("deploy"),
  request: { body: { required: true, content: jsonContent(createUsagePlanSchema) } },
  responses: {
    201: { description: "Created", content: jsonContent(usagePlanSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

const list = createRoute({
  method: "get",
  path: "/v1/usage-plans",
  operationId: "listUsagePlans",
  tags: ["gateway"],
  summary: "List usage plans, newest first; with keyId, the plans that key is in",
  ...authorized("read"),
  request: { query: listUsagePlansQuerySchema },
  responses: {
    200: {
      description: "A page of usage plans",
      content: jsonContent(pageSchema(usagePlanSchema)),
    },
    ...errorResponses("ValidationError", ...authErrors),
  },
});

const get = createRoute({
  method: "get",
  path: "/v1/usage-plans/{id}",
  operationId: "getUsagePlan",
  tags: ["gateway"],
  summary: "One usage plan",
  ...authorized("read"),
  request: { params: idParam },
  responses: {
    200: { description: "The usage plan", content: jsonContent(usagePlanSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

const update = createRoute({
  method: "patch",
  path: "/v1/usage-plans/{id}",
  operationId: "updateUsagePlan",
  tags: ["gateway"],
  summary: "Change a usage plan; Conflict when new APIs put a key in two plans for one API",
  ...authorized("deploy"),
  request: {
    params: idParam,
    body: { required: true, content: jsonContent(updateUsagePlanSchema) },
  },
  responses: {
    200: { description: "The usage plan", content: jsonContent(usagePlanSchema) },
    ...errorResponses("ValidationError", "NotFound", "Conflict", ...authErrors),
  },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/usage-plans/{id}",
  operationId: "deleteUsagePlan",
  tags: ["gateway"],
  summary: "Delete a usage plan; its keys stay, detached",
  ...authorized("deploy"),
  request: { params: idParam },
  responses: {
    204: { description: "Deleted" },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

export const usagePlanRoutes = newRouter()
  .openapi(create, async (c) => {
    const { db, redis, logger } = c.get("services");
    const created = await createUsagePlan(db, c.req.valid("json"));
    await publishKeysChanged(redis, logger);
    logger.info({ usagePlan: created.id, by: c.get("caller").tokenId }, "usage plan created");
    return c.json(created, 201);
  })
  .openapi(list, async (c) =>
    c.json(await listUsagePlans(c.get("services").db, c.req.valid("query")), 200),
  )
  .openapi(get, async (c) =>
    c.json(await getUsagePlan(c.get("services").db, c.req.valid("param").id), 200),
  )
  .openapi(update, async (c) => {
    const { db, redis, logger } = c.get("services");
    const updated = await updateUsagePlan(db, c.req.valid("param").id, c.req.valid("json"));
    await publishKeysChanged(redis, logger);
    logger.info({ usagePlan: updated.id, by: c.get("caller").tokenId }, "usage plan updated");
    return c.json(updated, 200);
  })
  .openapi(remove, async (c) => {
    const { db, redis, logger } = c.get("services");
    const { id } = c.req.valid("param");
    await deleteUsagePlan(db, id);
    await publishKeysChanged(redis, logger);
    logger.info({ usagePlan: id, by: c.get("caller").tokenId }, "usage plan deleted");
    return c.body(null, 204);
  });
