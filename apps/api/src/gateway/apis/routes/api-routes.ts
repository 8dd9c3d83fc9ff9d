import { createRoute, z } from "@hono/zod-openapi";
import { pageSchema, paginationQuerySchema } from "@skiff/shared";
import { authorized } from "../../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../../lib/openapi.js";
import {
  createRoute as createApiRoute,
  deleteRoute,
  getRoute,
  listRoutes,
  toRoute,
  updateRoute,
} from "../services/apis.js";
import { publishApisChanged } from "../services/changes.js";
import { createRouteSchema, routeSchema, updateRouteSchema } from "./schemas.js";

const apiParam = z.object({ api: z.string().max(100).describe("The API's id or name") });
const routeParam = apiParam.extend({ route: z.string().max(100).describe("The route's id") });
const tags = ["apis"];

const create = createRoute({
  method: "post",
  path: "/v1/apis/{api}/routes",
  tags,
  summary: "Add a route: a route key and the target its requests go to",
  ...authorized("deploy"),
  request: { params: apiParam, body: { required: true, content: jsonContent(createRouteSchema) } },
  responses: {
    201: { description: "Created", content: jsonContent(routeSchema) },
    ...errorResponses("ValidationError", "NotFound", "Conflict", ...authErrors),
  },
});
const list = createRoute({
  method: "get",
  path: "/v1/apis/{api}/routes",
  tags,
  summary: "List an API's routes",
  ...authorized("read"),
  request: { params: apiParam, query: paginationQuerySchema },
  responses: {
    200: { description: "A page of routes", content: jsonContent(pageSchema(routeSchema)) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});
const get = createRoute({
  method: "get",
  path: "/v1/apis/{api}/routes/{route}",
  tags,
  summary: "One route",
  ...authorized("read"),
  request: { params: routeParam },
  responses: {
    200: { description: "The route", content: jsonContent(routeSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});
const update = createRoute({
  method: "patch",
  path: "/v1/apis/{api}/routes/{route}",
  tags,
  summary: "Change a route's key, target, API key requirement, throttle or authorization",
  ...authorized("deploy"),
  request: {
    params: routeParam,
    body: { required: true, content: jsonContent(updateRouteSchema) },
  },
  responses: {
    200: { description: "The route", content: jsonContent(routeSchema) },
    ...errorResponses("ValidationError", "NotFound", "Conflict", ...authErrors),
  },
});
const remove = createRoute({
  method: "delete",
  path: "/v1/apis/{api}/routes/{route}",
  tags,
  summary: "Delete a route",
  ...authorized("deploy"),
  request: { params: routeParam },
  responses: {
    200: { description: "The deleted route", content: jsonContent(routeSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

export const apiRouteRoutes = newRouter()
  .openapi(create, async (c) => {
    const { db, redis } = c.get("services");
    const row = await createApiRoute(db, c.req.valid("param").api, c.req.valid("json"));
    await publishApisChanged(redis);
    return c.json(toRoute(row), 201);
  })
  .openapi(list, async (c) => {
    const page = await listRoutes(
      c.get("services").db,
      c.req.valid("param").api,
      c.req.valid("query"),
    );
    return c.json({ ...page, items: page.items.map(toRoute) }, 200);
  })
  .openapi(get, async (c) => {
    const { api, route } = c.req.valid("param");
    return c.json(toRoute(await getRoute(c.get("services").db, api, route)), 200);
  })
  .openapi(update, async (c) => {
    const { db, redis } = c.get("services");
    const { api, route } = c.req.valid("param");
    const row = await updateRoute(db, api, route, c.req.valid("json"));
    await publishApisChanged(redis);
    return c.json(toRoute(row), 200);
  })
  .openapi(remove, async (c) => {
    const { db, redis } = c.get("services");
    const { api, route } = c.req.valid("param");
    const row = await deleteRoute(db, api, route);
    await publishApisChanged(redis);
    return c.json(toRoute(row), 200);
  });
