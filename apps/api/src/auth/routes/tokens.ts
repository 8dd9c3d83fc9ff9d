import { createRoute, z } from "@hono/zod-openapi";
import {
  createdTokenSchema,
  createTokenSchema,
  pageSchema,
  paginationQuerySchema,
  tokenSchema,
  whoamiSchema,
} from "@skiff/shared";
import { authorized } from "../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";
import { createToken, deleteToken, listTokens } from "../services/tokens.js";

const create = createRoute({
  method: "post",
  path: "/v1/tokens",
  tags: ["tokens"],
  summary: "Create an API token; its secret is in this answer only",
  ...authorized("admin"),
  request: { body: { required: true, content: jsonContent(createTokenSchema) } },
  responses: {
    201: { description: "Created", content: jsonContent(createdTokenSchema) },
    ...errorResponses("ValidationError", ...authErrors),
  },
});

const list = createRoute({
  method: "get",
  path: "/v1/tokens",
  tags: ["tokens"],
  summary: "List API tokens (never their secrets)",
  ...authorized("admin"),
  request: { query: paginationQuerySchema },
  responses: {
    200: { description: "A page of tokens", content: jsonContent(pageSchema(tokenSchema)) },
    ...errorResponses("ValidationError", ...authErrors),
  },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/tokens/{id}",
  tags: ["tokens"],
  summary: "Revoke an API token",
  ...authorized("admin"),
  request: { params: z.object({ id: z.string().max(100) }) },
  responses: {
    204: { description: "Revoked" },
    ...errorResponses("NotFound", "Conflict", ...authErrors),
  },
});

const whoami = createRoute({
  method: "get",
  path: "/v1/whoami",
  tags: ["tokens"],
  summary: "The token this request was made with",
  ...authorized("read"),
  responses: {
    200: { description: "The caller", content: jsonContent(whoamiSchema) },
    ...errorResponses(...authErrors),
  },
});

export const tokenRoutes = newRouter()
  .openapi(create, async (c) => {
    const created = await createToken(c.get("services").db, c.req.valid("json"));
    c.get("services").logger.info(
      { tokenId: created.id, by: c.get("caller").tokenId },
      "token created",
    );
    return c.json(created, 201);
  })
  .openapi(list, async (c) =>
    c.json(await listTokens(c.get("services").db, c.req.valid("query")), 200),
  )
  .openapi(remove, async (c) => {
    const { db, clock } = c.get("services");
    await deleteToken(db, c.req.valid("param").id, clock.now());
    c.get("services").logger.info(
      { tokenId: c.req.valid("param").id, by: c.get("caller").tokenId },
      "token revoked",
    );
    return c.body(null, 204);
  })
  .openapi(whoami, (c) => c.json(c.get("caller"), 200));
