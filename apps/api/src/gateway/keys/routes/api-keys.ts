import { createRoute, z } from "@hono/zod-openapi";
import {
  apiKeySchema,
  createApiKeySchema,
  createdApiKeySchema,
  pageSchema,
  paginationQuerySchema,
  updateApiKeySchema,
} from "@skiff/shared";
import { authorized } from "../../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../../lib/openapi.js";
import {
  createApiKey,
  deleteApiKey,
  getApiKey,
  listApiKeys,
  updateApiKey,
} from "../services/api-keys.js";
import { publishKeysChanged } from "../services/changes.js";

// The value is in the create's answer only: stored as a hash, it cannot be shown again.

const idParam = z.object({ id: z.string().min(1).max(64) });

const create = createRoute({
  method: "post",
  path: "/v1/api-keys",
  operationId: "createApiKey",
  tags: ["gateway"],
  summary: "Create an API key for the gateway's APIs; the answer holds its value, this once",
  ...authorized("deploy"),
  request: { body: { required: true, content: jsonContent(createApiKeySchema) } },
  responses: {
    201: { description: "Created, with the value", content: jsonContent(createdApiKeySchema) },
    ...errorResponses("ValidationError", "Conflict", ...authErrors),
  },
});

const list = createRoute({
  method: "get",
  path: "/v1/api-keys",
  operationId: "listApiKeys",
  tags: ["gateway"],
  summary: "List API keys, newest first (never their values)",
  ...authorized("read"),
  request: { query: paginationQuerySchema },
  responses: {
    200: { description: "A page of API keys", content: jsonContent(pageSchema(apiKeySchema)) },
    ...errorResponses("ValidationError", ...authErrors),
  },
});

const get = createRoute({
  method: "get",
  path: "/v1/api-keys/{id}",
  operationId: "getApiKey",
  tags: ["gateway"],
  summary: "One API key (never its value)",
  ...authorized("read"),
  request: { params: idParam },
  responses: {
    200: { description: "The API key", content: jsonContent(apiKeySchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

const update = createRoute({
  method: "patch",
  path: "/v1/api-keys/{id}",
  operationId: "updateApiKey",
  tags: ["gateway"],
  summary: "Rename, enable or disable an API key",
  ...authorized("deploy"),
  request: {
    params: idParam,
    body: { required: true, content: jsonContent(updateApiKeySchema) },
  },
  responses: {
    200: { description: "The API key", content: jsonContent(apiKeySchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/api-keys/{id}",
  operationId: "deleteApiKey",
  tags: ["gateway"],
  summary: "Delete an API key, detaching it from its usage plans",
  ...authorized("deploy"),
  request: { params: idParam },
  responses: {
    204: { description: "Deleted" },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

export const apiKeyRoutes = newRouter()
  .openapi(create, async (c) => {
    const { db, redis, logger } = c.get("services");
    const created = await createApiKey(db, c.req.valid("json"));
    await publishKeysChanged(redis, logger);
    logger.info({ apiKey: created.id, by: c.get("caller").tokenId }, "api key created");
    return c.json(created, 201);
  })
  .openapi(list, async (c) =>
    c.json(await listApiKeys(c.get("services").db, c.req.valid("query")), 200),
  )
  .openapi(get, async (c) =>
    c.json(await getApiKey(c.get("services").db, c.req.valid("param").id), 200),
  )
  .openapi(update, async (c) => {
    const { db, redis, logger } = c.get("services");
    const updated = await updateApiKey(db, c.req.valid("param").id, c.req.valid("json"));
    await publishKeysChanged(redis, logger);
    logger.info(
      { apiKey: updated.id, enabled: updated.enabled, by: c.get("caller").tokenId },
      "api key updated",
    );
    return c.json(updated, 200);
  })
  .openapi(remove, async (c) => {
    const { db, redis, logger } = c.get("services");
    const { id } = c.req.valid("param");
    await deleteApiKey(db, id);
    await publishKeysChanged(redis, logger);
    logger.info({ apiKey: id, by: c.get("caller").tokenId }, "api key deleted");
    return c.body(null, 204);
  });
