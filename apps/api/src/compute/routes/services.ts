import { createRoute, z } from "@hono/zod-openapi";
import {
  createServiceSchema,
  nameSchema,
  pageSchema,
  paginationQuerySchema,
  serviceSchema,
  updateServiceSchema,
} from "@skiff/shared";
import { authorized } from "../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";
import {
  createService,
  deleteService,
  getService,
  listServices,
  updateService,
} from "../services/services.js";

const nameParam = z.object({ name: nameSchema });

const create = createRoute({
  method: "post",
  path: "/v1/services",
  tags: ["services"],
  summary: "Create a service: desiredCount tasks kept running, rolled out on change",
  ...authorized("deploy"),
  request: { body: { required: true, content: jsonContent(createServiceSchema) } },
  responses: {
    201: { description: "Created", content: jsonContent(serviceSchema) },
    ...errorResponses(
      "ValidationError",
      "NotFound",
      "Conflict",
      "UnprocessableEntity",
      ...authErrors,
    ),
  },
});

const list = createRoute({
  method: "get",
  path: "/v1/services",
  tags: ["services"],
  summary: "List services, by name",
  ...authorized("read"),
  request: { query: paginationQuerySchema },
  responses: {
    200: { description: "A page of services", content: jsonContent(pageSchema(serviceSchema)) },
    ...errorResponses("ValidationError", ...authErrors),
  },
});

const get = createRoute({
  method: "get",
  path: "/v1/services/{name}",
  tags: ["services"],
  summary: "One service with its deployments and recent events",
  ...authorized("read"),
  request: { params: nameParam },
  responses: {
    200: { description: "The service", content: jsonContent(serviceSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

const update = createRoute({
  method: "patch",
  path: "/v1/services/{name}",
  tags: ["services"],
  summary: "Scale (desiredCount) or deploy a revision (taskDefinition)",
  ...authorized("deploy"),
  request: {
    params: nameParam,
    body: { required: true, content: jsonContent(updateServiceSchema) },
  },
  responses: {
    200: { description: "The service", content: jsonContent(serviceSchema) },
    ...errorResponses("ValidationError", "NotFound", "UnprocessableEntity", ...authErrors),
  },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/services/{name}",
  tags: ["services"],
  summary: "Delete a service: its tasks stop, then it is gone",
  ...authorized("deploy"),
  request: { params: nameParam },
  responses: {
    200: { description: "The service, draining", content: jsonContent(serviceSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

export const serviceRoutes = newRouter()
  .openapi(create, async (c) => {
    const { db, notifier } = c.get("services");
    const service = await createService(db, c.req.valid("json"));
    await notifier.serviceChanged();
    return c.json(service, 201);
  })
  .openapi(list, async (c) =>
    c.json(await listServices(c.get("services").db, c.req.valid("query")), 200),
  )
  .openapi(get, async (c) =>
    c.json(await getService(c.get("services").db, c.req.valid("param").name), 200),
  )
  .openapi(update, async (c) => {
    const { db, notifier } = c.get("services");
    const service = await updateService(db, c.req.valid("param").name, c.req.valid("json"));
    await notifier.serviceChanged();
    return c.json(service, 200);
  })
  .openapi(remove, async (c) => {
    const { db, notifier } = c.get("services");
    const service = await deleteService(db, c.req.valid("param").name);
    await notifier.serviceChanged();
    return c.json(service, 200);
  });
