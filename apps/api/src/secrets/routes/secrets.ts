import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import {
  createSecretSchema,
  deleteSecretQuerySchema,
  pageSchema,
  paginationQuerySchema,
  secretNameSchema,
  secretSchema,
  updateSecretSchema,
} from "@skiff/shared";
import { authorized } from "../../lib/auth.js";
import type { AppEnv } from "../../lib/hono-env.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";
import {
  createSecret,
  deleteSecret,
  getSecret,
  listSecrets,
  updateSecretValue,
} from "../services/secrets.js";

// No answer here carries a value: values are write-only, and reach only the agent of a node
// running a task that names the secret (the assignments long poll).

const nameParam = z.object({ name: secretNameSchema });

const create = createRoute({
  method: "post",
  path: "/v1/secrets",
  operationId: "createSecret",
  tags: ["secrets"],
  summary: "Store a secret, encrypted; the value is never returned",
  ...authorized("deploy"),
  request: { body: { required: true, content: jsonContent(createSecretSchema) } },
  responses: {
    201: { description: "Created (without the value)", content: jsonContent(secretSchema) },
    ...errorResponses("ValidationError", "Conflict", ...authErrors),
  },
});

const list = createRoute({
  method: "get",
  path: "/v1/secrets",
  operationId: "listSecrets",
  tags: ["secrets"],
  summary: "List secrets by name (never their values)",
  ...authorized("read"),
  request: { query: paginationQuerySchema },
  responses: {
    200: { description: "A page of secrets", content: jsonContent(pageSchema(secretSchema)) },
    ...errorResponses("ValidationError", ...authErrors),
  },
});

const get = createRoute({
  method: "get",
  path: "/v1/secrets/{name}",
  operationId: "getSecret",
  tags: ["secrets"],
  summary: "One secret (never its value)",
  ...authorized("read"),
  request: { params: nameParam },
  responses: {
    200: { description: "The secret", content: jsonContent(secretSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

function updateRoute(method: "put" | "patch", operationId: string) {
  return createRoute({
    method,
    path: "/v1/secrets/{name}",
    operationId,
    tags: ["secrets"],
    summary: "Store a new version of the value; tasks started from now on get it",
    ...authorized("deploy"),
    request: {
      params: nameParam,
      body: { required: true, content: jsonContent(updateSecretSchema) },
    },
    responses: {
      200: {
        description: "The new version (without the value)",
        content: jsonContent(secretSchema),
      },
      ...errorResponses("ValidationError", "NotFound", ...authErrors),
    },
  });
}

const put = updateRoute("put", "putSecretValue");
const patch = updateRoute("patch", "updateSecretValue");

const remove = createRoute({
  method: "delete",
  path: "/v1/secrets/{name}",
  operationId: "deleteSecret",
  tags: ["secrets"],
  summary: "Delete a secret; Conflict while task definition revisions reference it, unless force",
  ...authorized("deploy"),
  request: { params: nameParam, query: deleteSecretQuerySchema },
  responses: {
    204: { description: "Deleted" },
    ...errorResponses("ValidationError", "NotFound", "Conflict", ...authErrors),
  },
});

/** PUT and PATCH alike: the value is the secret's only writable field. */
const updateValue: RouteHandler<typeof put, AppEnv> = async (c) => {
  const { db, secretsKey, logger } = c.get("services");
  const { name } = c.req.valid("param");
  const updated = await updateSecretValue(db, secretsKey, name, c.req.valid("json"));
  logger.info(
    { secret: name, version: updated.version, by: c.get("caller").tokenId },
    "secret updated",
  );
  return c.json(updated, 200);
};

export const secretRoutes = newRouter()
  .openapi(create, async (c) => {
    const { db, secretsKey, logger } = c.get("services");
    const created = await createSecret(db, secretsKey, c.req.valid("json"));
    logger.info({ secret: created.name, by: c.get("caller").tokenId }, "secret created");
    return c.json(created, 201);
  })
  .openapi(list, async (c) =>
    c.json(await listSecrets(c.get("services").db, c.req.valid("query")), 200),
  )
  .openapi(get, async (c) =>
    c.json(await getSecret(c.get("services").db, c.req.valid("param").name), 200),
  )
  .openapi(put, updateValue)
  .openapi(patch, updateValue)
  .openapi(remove, async (c) => {
    const { db, logger } = c.get("services");
    const { name } = c.req.valid("param");
    const { force } = c.req.valid("query");
    await deleteSecret(db, name, force);
    logger.info({ secret: name, force, by: c.get("caller").tokenId }, "secret deleted");
    return c.body(null, 204);
  });
