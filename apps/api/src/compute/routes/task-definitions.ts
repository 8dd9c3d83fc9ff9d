import { createRoute, z } from "@hono/zod-openapi";
import {
  nameSchema,
  pageSchema,
  paginationQuerySchema,
  registerTaskDefinitionSchema,
  taskDefinitionFamilySchema,
  taskDefinitionSchema,
} from "@skiff/shared";
import { authorized } from "../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";
import {
  findTaskDefinition,
  listFamilies,
  registerTaskDefinition,
} from "../services/task-definitions.js";

const register = createRoute({
  method: "post",
  path: "/v1/task-definitions",
  tags: ["task definitions"],
  summary: "Register the next revision of a family",
  ...authorized("deploy"),
  request: { body: { required: true, content: jsonContent(registerTaskDefinitionSchema) } },
  responses: {
    201: { description: "Registered", content: jsonContent(taskDefinitionSchema) },
    ...errorResponses("ValidationError", ...authErrors),
  },
});

const families = createRoute({
  method: "get",
  path: "/v1/task-definitions",
  tags: ["task definitions"],
  summary: "List families and their latest revision, by name",
  ...authorized("read"),
  request: { query: paginationQuerySchema },
  responses: {
    200: {
      description: "A page of families",
      content: jsonContent(pageSchema(taskDefinitionFamilySchema)),
    },
    ...errorResponses("ValidationError", ...authErrors),
  },
});

const latest = createRoute({
  method: "get",
  path: "/v1/task-definitions/{family}",
  tags: ["task definitions"],
  summary: "The latest revision of a family",
  ...authorized("read"),
  request: { params: z.object({ family: nameSchema }) },
  responses: {
    200: { description: "The task definition", content: jsonContent(taskDefinitionSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

const byRevision = createRoute({
  method: "get",
  path: "/v1/task-definitions/{family}/{revision}",
  tags: ["task definitions"],
  summary: "One revision of a family",
  ...authorized("read"),
  request: {
    params: z.object({
      family: nameSchema,
      revision: z.coerce.number().int().min(1).max(999_999_999),
    }),
  },
  responses: {
    200: { description: "The task definition", content: jsonContent(taskDefinitionSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

export const taskDefinitionRoutes = newRouter()
  .openapi(register, async (c) =>
    c.json(await registerTaskDefinition(c.get("services").db, c.req.valid("json")), 201),
  )
  .openapi(families, async (c) =>
    c.json(await listFamilies(c.get("services").db, c.req.valid("query")), 200),
  )
  .openapi(latest, async (c) =>
    c.json(await findTaskDefinition(c.get("services").db, c.req.valid("param").family), 200),
  )
  .openapi(byRevision, async (c) => {
    const { family, revision } = c.req.valid("param");
    return c.json(await findTaskDefinition(c.get("services").db, `${family}:${revision}`), 200);
  });
