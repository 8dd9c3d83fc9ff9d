import { createRoute, z } from "@hono/zod-openapi";
import { pageSchema, paginationQuerySchema } from "@skiff/shared";
import { authorized } from "../../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../../lib/openapi.js";
import { publishApisChanged } from "../../apis/services/changes.js";
import {
  createAuthorizer,
  deleteAuthorizer,
  getAuthorizer,
  listAuthorizers,
  toAuthorizer,
  updateAuthorizer,
} from "../services/authorizers.js";
import { authorizerSchema, createAuthorizerSchema, updateAuthorizerSchema } from "./schemas.js";

const apiParam = z.object({ api: z.string().max(100).describe("The API's id or name") });
const authorizerParam = apiParam.extend({
  authorizer: z.string().max(100).describe("The authorizer's id or name"),
});
const tags = ["apis"];

const create = createRoute({
  method: "post",
  path: "/v1/apis/{api}/authorizers",
  operationId: "createApiAuthorizer",
  tags,
  summary: "Add an authorizer: JWT (tokens checked by the gateway) or REQUEST (a function decides)",
  ...authorized("deploy"),
  request: {
    params: apiParam,
    body: { required: true, content: jsonContent(createAuthorizerSchema) },
  },
  responses: {
    201: { description: "Created", content: jsonContent(authorizerSchema) },
    ...errorResponses("ValidationError", "NotFound", "Conflict", ...authErrors),
  },
});
const list = createRoute({
  method: "get",
  path: "/v1/apis/{api}/authorizers",
  operationId: "listApiAuthorizers",
  tags,
  summary: "List an API's authorizers",
  ...authorized("read"),
  request: { params: apiParam, query: paginationQuerySchema },
  responses: {
    200: {
      description: "A page of authorizers",
      content: jsonContent(pageSchema(authorizerSchema)),
    },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});
const get = createRoute({
  method: "get",
  path: "/v1/apis/{api}/authorizers/{authorizer}",
  operationId: "getApiAuthorizer",
  tags,
  summary: "One authorizer",
  ...authorized("read"),
  request: { params: authorizerParam },
  responses: {
    200: { description: "The authorizer", content: jsonContent(authorizerSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});
const update = createRoute({
  method: "patch",
  path: "/v1/apis/{api}/authorizers/{authorizer}",
  operationId: "updateApiAuthorizer",
  tags,
  summary: "Change an authorizer's name, identity source, JWT settings, function or TTL",
  ...authorized("deploy"),
  request: {
    params: authorizerParam,
    body: { required: true, content: jsonContent(updateAuthorizerSchema) },
  },
  responses: {
    200: { description: "The authorizer", content: jsonContent(authorizerSchema) },
    ...errorResponses("ValidationError", "NotFound", "Conflict", ...authErrors),
  },
});
const remove = createRoute({
  method: "delete",
  path: "/v1/apis/{api}/authorizers/{authorizer}",
  operationId: "deleteApiAuthorizer",
  tags,
  summary: "Delete an authorizer no route uses",
  ...authorized("deploy"),
  request: { params: authorizerParam },
  responses: {
    200: { description: "The deleted authorizer", content: jsonContent(authorizerSchema) },
    ...errorResponses("ValidationError", "NotFound", "Conflict", ...authErrors),
  },
});

export const authorizerRoutes = newRouter()
  .openapi(create, async (c) => {
    const { db, redis } = c.get("services");
    const row = await createAuthorizer(db, c.req.valid("param").api, c.req.valid("json"));
    await publishApisChanged(redis);
    return c.json(toAuthorizer(row), 201);
  })
  .openapi(list, async (c) => {
    const page = await listAuthorizers(
      c.get("services").db,
      c.req.valid("param").api,
      c.req.valid("query"),
    );
    return c.json({ ...page, items: page.items.map(toAuthorizer) }, 200);
  })
  .openapi(get, async (c) => {
    const { api, authorizer } = c.req.valid("param");
    return c.json(toAuthorizer(await getAuthorizer(c.get("services").db, api, authorizer)), 200);
  })
  .openapi(update, async (c) => {
    const { db, redis } = c.get("services");
    const { api, authorizer } = c.req.valid("param");
    const row = await updateAuthorizer(db, api, authorizer, c.req.valid("json"));
    await publishApisChanged(redis);
    return c.json(toAuthorizer(row), 200);
  })
  .openapi(remove, async (c) => {
    const { db, redis } = c.get("services");
    const { api, authorizer } = c.req.valid("param");
    const row = await deleteAuthorizer(db, api, authorizer);
    await publishApisChanged(redis);
    return c.json(toAuthorizer(row), 200);
  });
