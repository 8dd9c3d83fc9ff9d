import { createRoute, z } from "@hono/zod-openapi";
import {
  createJoinTokenSchema,
  createPoolSchema,
  joinTokenInfoSchema,
  joinTokenSchema,
  nameSchema,
  pageSchema,
  paginationQuerySchema,
  poolSchema,
} from "@skiff/shared";
import { authorized } from "../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";
import {
  createJoinToken,
  createPool,
  listJoinTokens,
  listPools,
  revokeJoinToken,
} from "../services/pools.js";

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
  operationId: "createJoinToken",
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

const listTokens = createRoute({
  method: "get",
  path: "/v1/pools/{name}/join-tokens",
  operationId: "listJoinTokens",
  tags: ["pools"],
  summary: "The pool's join tokens, newest first, with their uses (never their secrets)",
  ...authorized("admin"),
  request: { params: z.object({ name: nameSchema }) },
  responses: {
    200: {
      description: "Join tokens",
      content: jsonContent(z.object({ items: z.array(joinTokenInfoSchema) })),
    },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

const revokeToken = createRoute({
  method: "delete",
  path: "/v1/pools/{name}/join-tokens/{id}",
  operationId: "revokeJoinToken",
  tags: ["pools"],
  summary: "Revoke a join token: no agent joins with it any more; joined nodes stay",
  ...authorized("admin"),
  request: { params: z.object({ name: nameSchema, id: z.string().max(64) }) },
  responses: {
    204: { description: "Revoked" },
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
    // The body is optional: without one the token lasts a day and admits any number of nodes.
    const body = c.req.valid("json") as
      | { ttlSeconds?: number; maxUses?: number | null }
      | undefined;
    return c.json(
      await createJoinToken(
        db,
        c.req.valid("param").name,
        body?.ttlSeconds ?? 86_400,
        clock.now(),
        body?.maxUses ?? null,
      ),
      201,
    );
  })
  .openapi(listTokens, async (c) => {
    const { db, clock } = c.get("services");
    const items = await listJoinTokens(db, c.req.valid("param").name, clock.now());
    return c.json({ items }, 200);
  })
  .openapi(revokeToken, async (c) => {
    const { db, clock } = c.get("services");
    const { name, id } = c.req.valid("param");
    await revokeJoinToken(db, name, id, clock.now());
    return c.body(null, 204);
  });
