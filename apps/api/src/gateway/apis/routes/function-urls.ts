import { createRoute, z } from "@hono/zod-openapi";
import { nameSchema } from "@skiff/shared";
import type { Context } from "hono";
import { authorized } from "../../../lib/auth.js";
import type { AppEnv } from "../../../lib/hono-env.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../../lib/openapi.js";
import { publishApisChanged } from "../services/changes.js";
import { deleteFunctionUrl, getFunctionUrl, putFunctionUrl } from "../services/function-urls.js";
import { functionUrlConfigSchema, functionUrlSchema } from "./schemas.js";

const nameParam = z.object({ name: nameSchema });
const tags = ["functions"];

function toFunctionUrl(
  c: Context<AppEnv>,
  name: string,
  row: { authType: "NONE" | "SKIFF_TOKEN"; createdAt: Date },
) {
  const template = c.get("services").settings.platform.gatewayUrl;
  return {
    functionName: name,
    functionUrl: template.replace("{service}", `${name}.fn`),
    authType: row.authType,
    createdAt: row.createdAt.toISOString(),
  };
}

const put = createRoute({
  method: "put",
  path: "/v1/functions/{name}/url",
  tags,
  summary: "Turn on (or change) a function's URL: <name>.fn.<SKIFF_DOMAIN> on the gateway",
  ...authorized("deploy"),
  request: {
    params: nameParam,
    body: { required: true, content: jsonContent(functionUrlConfigSchema) },
  },
  responses: {
    200: { description: "The function URL", content: jsonContent(functionUrlSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});
const get = createRoute({
  method: "get",
  path: "/v1/functions/{name}/url",
  tags,
  summary: "A function's URL, if on",
  ...authorized("read"),
  request: { params: nameParam },
  responses: {
    200: { description: "The function URL", content: jsonContent(functionUrlSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});
const remove = createRoute({
  method: "delete",
  path: "/v1/functions/{name}/url",
  tags,
  summary: "Turn a function's URL off",
  ...authorized("deploy"),
  request: { params: nameParam },
  responses: {
    200: { description: "The removed function URL", content: jsonContent(functionUrlSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

export const functionUrlRoutes = newRouter()
  .openapi(put, async (c) => {
    const { db, redis } = c.get("services");
    const { name } = c.req.valid("param");
    const row = await putFunctionUrl(db, name, c.req.valid("json").authType);
    await publishApisChanged(redis);
    return c.json(toFunctionUrl(c, name, row), 200);
  })
  .openapi(get, async (c) => {
    const { name } = c.req.valid("param");
    return c.json(toFunctionUrl(c, name, await getFunctionUrl(c.get("services").db, name)), 200);
  })
  .openapi(remove, async (c) => {
    const { db, redis } = c.get("services");
    const { name } = c.req.valid("param");
    const row = await deleteFunctionUrl(db, name);
    await publishApisChanged(redis);
    return c.json(toFunctionUrl(c, name, row), 200);
  });
