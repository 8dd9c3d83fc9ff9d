import { createRoute, z } from "@hono/zod-openapi";
import { pageSchema, paginationQuerySchema } from "@skiff/shared";
import { authorized } from "../../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../../lib/openapi.js";
import {
  createDomainName,
  deleteDomainName,
  getDomainName,
  listDomainNames,
  toDomainName,
} from "../services/apis.js";
import { publishApisChanged } from "../services/changes.js";
import { createDomainNameSchema, domainNameSchema } from "./schemas.js";

const hostParam = z.object({ hostname: z.string().max(253) });
const tags = ["apis"];

const create = createRoute({
  method: "post",
  path: "/v1/domain-names",
  tags,
  summary: "Map a custom host name to an API or a service",
  ...authorized("deploy"),
  request: { body: { required: true, content: jsonContent(createDomainNameSchema) } },
  responses: {
    201: { description: "Created", content: jsonContent(domainNameSchema) },
    ...errorResponses("ValidationError", "NotFound", "Conflict", ...authErrors),
  },
});
const list = createRoute({
  method: "get",
  path: "/v1/domain-names",
  tags,
  summary: "List custom host names",
  ...authorized("read"),
  request: { query: paginationQuerySchema },
  responses: {
    200: { description: "A page", content: jsonContent(pageSchema(domainNameSchema)) },
    ...errorResponses("ValidationError", ...authErrors),
  },
});
const get = createRoute({
  method: "get",
  path: "/v1/domain-names/{hostname}",
  tags,
  summary: "One custom host name",
  ...authorized("read"),
  request: { params: hostParam },
  responses: {
    200: { description: "The host name", content: jsonContent(domainNameSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});
const remove = createRoute({
  method: "delete",
  path: "/v1/domain-names/{hostname}",
  tags,
  summary: "Remove a custom host name",
  ...authorized("deploy"),
  request: { params: hostParam },
  responses: {
    200: { description: "The removed host name", content: jsonContent(domainNameSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

export const domainNameRoutes = newRouter()
  .openapi(create, async (c) => {
    const { db, redis } = c.get("services");
    const row = await createDomainName(db, c.req.valid("json"));
    await publishApisChanged(redis);
    return c.json(toDomainName(row), 201);
  })
  .openapi(list, async (c) => {
    const page = await listDomainNames(c.get("services").db, c.req.valid("query"));
    return c.json({ ...page, items: page.items.map(toDomainName) }, 200);
  })
  .openapi(get, async (c) =>
    c.json(
      toDomainName(await getDomainName(c.get("services").db, c.req.valid("param").hostname)),
      200,
    ),
  )
  .openapi(remove, async (c) => {
    const { db, redis } = c.get("services");
    const row = await deleteDomainName(db, c.req.valid("param").hostname);
    await publishApisChanged(redis);
    return c.json(toDomainName(row), 200);
  });
