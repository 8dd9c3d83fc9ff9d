import { createRoute, z } from "@hono/zod-openapi";
import { pageSchema, paginationQuerySchema } from "@skiff/shared";
import type { Context } from "hono";
import { authorized } from "../../../lib/auth.js";
import type { AppEnv } from "../../../lib/hono-env.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../../lib/openapi.js";
import { createApi, deleteApi, getApi, listApis, toApi, updateApi } from "../services/apis.js";
import { publishApisChanged } from "../services/changes.js";
import { apiSchema, createApiSchema, updateApiSchema } from "./schemas.js";

const apiParam = z.object({ api: z.string().max(100).describe("The API's id or name") });
const tags = ["apis"];

/** `http://<name>.<domain>:<port>/` as the gateway serves it (SKIFF_GATEWAY_URL_TEMPLATE). */
export function endpointOf(c: Context<AppEnv>) {
  const template = c.get("services").settings.platform.gatewayUrl;
  return (name: string) => template.replace("{service}", name);
}

const create = createRoute({
  method: "post",
  path: "/v1/apis",
  tags,
  summary: "Create an HTTP API, served by the gateway at <name>.<SKIFF_DOMAIN>",
  ...authorized("deploy"),
  request: { body: { required: true, content: jsonContent(createApiSchema) } },
  responses: {
    201: { description: "Created", content: jsonContent(apiSchema) },
    ...errorResponses("ValidationError", "Conflict", ...authErrors),
  },
});
const list = createRoute({
  method: "get",
  path: "/v1/apis",
  tags,
  summary: "List HTTP APIs, by name",
  ...authorized("read"),
  request: { query: paginationQuerySchema },
  responses: {
    200: { description: "A page of APIs", content: jsonContent(pageSchema(apiSchema)) },
    ...errorResponses("ValidationError", ...authErrors),
  },
});
const get = createRoute({
  method: "get",
  path: "/v1/apis/{api}",
  tags,
  summary: "One HTTP API",
  ...authorized("read"),
  request: { params: apiParam },
  responses: {
    200: { description: "The API", content: jsonContent(apiSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});
const update = createRoute({
  method: "patch",
  path: "/v1/apis/{api}",
  tags,
  summary: "Change an API's description, CORS or default throttle (null clears)",
  ...authorized("deploy"),
  request: { params: apiParam, body: { required: true, content: jsonContent(updateApiSchema) } },
  responses: {
    200: { description: "The API", content: jsonContent(apiSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});
const remove = createRoute({
  method: "delete",
  path: "/v1/apis/{api}",
  tags,
  summary: "Delete an API with its routes and host names",
  ...authorized("deploy"),
  request: { params: apiParam },
  responses: {
    200: { description: "The deleted API", content: jsonContent(apiSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

export const apiRoutes = newRouter()
  .openapi(create, async (c) => {
    const { db, redis } = c.get("services");
    const row = await createApi(db, c.req.valid("json"));
    await publishApisChanged(redis);
    return c.json(toApi(row, endpointOf(c)), 201);
  })
  .openapi(list, async (c) => {
    const page = await listApis(c.get("services").db, c.req.valid("query"));
    const endpoint = endpointOf(c);
    return c.json({ ...page, items: page.items.map((row) => toApi(row, endpoint)) }, 200);
  })
  .openapi(get, async (c) =>
    c.json(toApi(await getApi(c.get("services").db, c.req.valid("param").api), endpointOf(c)), 200),
  )
  .openapi(update, async (c) => {
    const { db, redis } = c.get("services");
    const row = await updateApi(db, c.req.valid("param").api, c.req.valid("json"));
    await publishApisChanged(redis);
    return c.json(toApi(row, endpointOf(c)), 200);
  })
  .openapi(remove, async (c) => {
    const { db, redis } = c.get("services");
    const row = await deleteApi(db, c.req.valid("param").api);
    await publishApisChanged(redis);
    return c.json(toApi(row, endpointOf(c)), 200);
  });
