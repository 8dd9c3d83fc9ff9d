import { createRoute, z } from "@hono/zod-openapi";
import {
  createJoinTokenSchema,
  createPoolSchema,
  joinTokenSchema,
  nameSchema,
  pageSchema,
  paginationQuerySchema,
  poolSchema,
} from "@skiff/shared";
import { authorized } from "../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";
import { createJoinToken, createPool, listPools } from "../services/pools.js";

const list = createRoute({
  method: "get",
  path: "/v1/pools",
  tags: ["pools"],
  summary: "List pools with their node counts, by name",
  ...authorized("read"),
  request: { query: paginationQuerySchema },
  responses: {
    200: { description: "A page of pools", content: jsonContent(pageSchema(poolSchema)) },
    ...errorResponses("ValidationError", ...authErrors),
  },
});

const create = createRoute({
  method: "post",
  path: "/v1/pools",
  tags: ["pools"],
  summary: "Create a pool",
  ...authorized("admin"),
  request: { body: { required: true, content: jsonContent(createPoolSchema) } },
  responses: {
    201: { description: "Created", content: jsonContent(poolSchema) },
    ...errorResponses("ValidationError", "Conflict", ...authErrors),
  },
});

const joinToken = createRoute({
  method: "post",
  path: "/v1/pools/{name}/join-tokens",
  tags: ["pools"],
  summary: "Create a token agents join this pool with (shown once)",
  ...authorized("admin"),
  request: {
    params: z.object({ name: nameSchema }),
    body: { required: false, content: jsonContent(createJoinTokenSchema) },
  },
  responses: {
    201: { description: "Created", content: jsonContent(joinTokenSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

export const poolRoutes = newRouter()
  .openapi(list, async (c) =>
    c.json(await listPools(c.get("services").db, c.req.valid("query")), 200),
  )
  .openapi(create, async (c) =>
    c.json(await createPool(c.get("services").db, c.req.valid("json")), 201),
  )
  .openapi(joinToken, async (c) => {
    const { db, clock } = c.get("services");
    // The body is optional: without one the token lasts a day.
    const ttlSeconds =
      (c.req.valid("json") as { ttlSeconds?: number } | undefined)?.ttlSeconds ?? 86_400;
    return c.json(
      await createJoinToken(db, c.req.valid("param").name, ttlSeconds, clock.now()),
      201,
    );
  });
