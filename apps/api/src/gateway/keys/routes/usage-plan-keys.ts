import { createRoute, z } from "@hono/zod-openapi";
import {
  pageSchema,
  paginationQuerySchema,
  planUsageQuerySchema,
  planUsageSchema,
  usagePlanKeyBodySchema,
  usagePlanKeySchema,
} from "@skiff/shared";
import { authorized } from "../../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../../lib/openapi.js";
import { publishKeysChanged } from "../services/changes.js";
import { readUsage } from "../services/usage.js";
import { attachKey, detachKey, listPlanKeys } from "../services/usage-plans.js";

const idParam = z.object({ id: z.string().min(1).max(64) });
const keyParams = idParam.extend({ keyId: z.string().min(1).max(64) });

const attach = createRoute({
  method: "post",
  path: "/v1/usage-plans/{id}/keys",
  operationId: "attachUsagePlanKey",
  tags: ["gateway"],
  summary:
    "Put an API key in a usage plan; Conflict when it is in another plan for one of its APIs",
  ...authorized("deploy"),
  request: {
    params: idParam,
    body: { required: true, content: jsonContent(usagePlanKeyBodySchema) },
  },
  responses: {
    201: { description: "Attached", content: jsonContent(usagePlanKeySchema) },
    ...errorResponses("ValidationError", "NotFound", "Conflict", ...authErrors),
  },
});

const list = createRoute({
  method: "get",
  path: "/v1/usage-plans/{id}/keys",
  operationId: "listUsagePlanKeys",
  tags: ["gateway"],
  summary: "The API keys of a usage plan, by key id",
  ...authorized("read"),
  request: { params: idParam, query: paginationQuerySchema },
  responses: {
    200: {
      description: "A page of the plan's keys",
      content: jsonContent(pageSchema(usagePlanKeySchema)),
    },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

const detach = createRoute({
  method: "delete",
  path: "/v1/usage-plans/{id}/keys/{keyId}",
  operationId: "detachUsagePlanKey",
  tags: ["gateway"],
  summary: "Take an API key out of a usage plan",
  ...authorized("deploy"),
  request: { params: keyParams },
  responses: {
    204: { description: "Detached" },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

const usage = createRoute({
  method: "get",
  path: "/v1/usage-plans/{id}/usage",
  operationId: "getUsagePlanUsage",
  tags: ["gateway"],
  summary:
    "Requests per API key per UTC day (at most 90 days), as API Gateway's GetUsage: items maps a key id to one [used, remaining] pair per day, remaining being the quota's rest that day (null without a quota)",
  ...authorized("read"),
  request: { params: idParam, query: planUsageQuerySchema },
  responses: {
    200: { description: "PlanUsage per key per day", content: jsonContent(planUsageSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

export const usagePlanKeyRoutes = newRouter()
  .openapi(attach, async (c) => {
    const { db, redis, logger } = c.get("services");
    const { id } = c.req.valid("param");
    const attached = await attachKey(db, id, c.req.valid("json").keyId);
    await publishKeysChanged(redis, logger);
    logger.info(
      { usagePlan: id, apiKey: attached.keyId, by: c.get("caller").tokenId },
      "api key attached",
    );
    return c.json(attached, 201);
  })
  .openapi(list, async (c) =>
    c.json(
      await listPlanKeys(c.get("services").db, c.req.valid("param").id, c.req.valid("query")),
      200,
    ),
  )
  .openapi(detach, async (c) => {
    const { db, redis, logger } = c.get("services");
    const { id, keyId } = c.req.valid("param");
    await detachKey(db, id, keyId);
    await publishKeysChanged(redis, logger);
    logger.info({ usagePlan: id, apiKey: keyId, by: c.get("caller").tokenId }, "api key detached");
    return c.body(null, 204);
  })
  .openapi(usage, async (c) => {
    const { db, redis } = c.get("services");
    return c.json(await readUsage(db, redis, c.req.valid("param").id, c.req.valid("query")), 200);
  });
