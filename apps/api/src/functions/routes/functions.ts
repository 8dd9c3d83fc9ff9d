import { createRoute, z } from "@hono/zod-openapi";
import {
  createFunctionSchema,
  functionLimits,
  functionSchema,
  nameSchema,
  pageSchema,
  paginationQuerySchema,
  updateFunctionSchema,
} from "@skiff/shared";
import type { Context } from "hono";
import { authorized } from "../../lib/auth.js";
import { ApiError } from "../../lib/errors.js";
import type { AppEnv } from "../../lib/hono-env.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";
import { readCodeZip } from "../services/code-zip.js";
import {
  createFunction,
  deleteFunction,
  type FunctionDeps,
  findFunctionRow,
  getFunction,
  listFunctions,
  updateFunction,
} from "../services/functions.js";

const nameParam = z.object({ name: nameSchema });

/** The path PUT .../code answers on: app.ts exempts it from the JSON body limit. */
export const functionCodePath = /^\/v1\/functions\/[^/]+\/code$/;

const create = createRoute({
  method: "post",
  path: "/v1/functions",
  operationId: "createFunction",
  tags: ["functions"],
  summary: "Create a function from a zip (base64) or an image; larger zips: PUT .../code",
  ...authorized("deploy"),
  request: { body: { required: true, content: jsonContent(createFunctionSchema) } },
  responses: {
    201: { description: "Created", content: jsonContent(functionSchema) },
    ...errorResponses("ValidationError", "Conflict", "PayloadTooLarge", ...authErrors),
  },
});

const list = createRoute({
  method: "get",
  path: "/v1/functions",
  operationId: "listFunctions",
  tags: ["functions"],
  summary: "List functions, by name",
  ...authorized("read"),
  request: { query: paginationQuerySchema },
  responses: {
    200: { description: "A page of functions", content: jsonContent(pageSchema(functionSchema)) },
    ...errorResponses("ValidationError", ...authErrors),
  },
});

const get = createRoute({
  method: "get",
  path: "/v1/functions/{name}",
  operationId: "getFunction",
  tags: ["functions"],
  summary: "One function (secrets by name only)",
  ...authorized("read"),
  request: { params: nameParam },
  responses: {
    200: { description: "The function", content: jsonContent(functionSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

const update = createRoute({
  method: "patch",
  path: "/v1/functions/{name}",
  operationId: "updateFunction",
  tags: ["functions"],
  summary: "Change configuration (and code); bumps revision, retiring older instances",
  ...authorized("deploy"),
  request: {
    params: nameParam,
    body: { required: true, content: jsonContent(updateFunctionSchema) },
  },
  responses: {
    200: { description: "The function", content: jsonContent(functionSchema) },
    ...errorResponses("ValidationError", "NotFound", "PayloadTooLarge", ...authErrors),
  },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/functions/{name}",
  operationId: "deleteFunction",
  tags: ["functions"],
  summary: "Delete a function; its instances are stopped",
  ...authorized("deploy"),
  request: { params: nameParam },
  responses: {
    204: { description: "Deleted" },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

const putCode = createRoute({
  method: "put",
  path: "/v1/functions/{name}/code",
  operationId: "putFunctionCode",
  tags: ["functions"],
  summary: `Replace the code with a zip (application/zip, up to ${functionLimits.zippedCodeBytes} bytes)`,
  ...authorized("deploy"),
  request: {
    params: nameParam,
    body: {
      required: true,
      content: { "application/zip": { schema: z.string().openapi({ format: "binary" }) } },
    },
  },
  responses: {
    200: { description: "The function", content: jsonContent(functionSchema) },
    ...errorResponses(
      "ValidationError",
      "NotFound",
      "PayloadTooLarge",
      "UnsupportedMediaType",
      ...authErrors,
    ),
  },
});

const deps = (c: Context<AppEnv>): FunctionDeps => {
  const { db, redis, functionDirectory } = c.get("services");
  return { db, redis, directory: functionDirectory };
};

const tooLarge = () =>
  new ApiError(
    "PayloadTooLarge",
    `code: the zip is larger than ${functionLimits.zippedCodeBytes} bytes`,
  );

/**
 * The request's body, up to `limit` bytes: refused by its Content-Length at once, and by what
 * arrives otherwise, so no more than the limit (plus one chunk) is ever held.
 */
async function readBoundedBody(c: Context<AppEnv>, limit: number): Promise<Buffer> {
  const declared = Number(c.req.header("content-length") ?? Number.NaN);
  if (declared > limit) throw tooLarge();
  const body = c.req.raw.body;
  if (!body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

export const functionRoutes = newRouter()
  .openapi(create, async (c) => {
    const created = await createFunction(deps(c), c.req.valid("json"));
    c.get("services").logger.info(
      { function: created.name, by: c.get("caller").tokenId },
      "function created",
    );
    return c.json(created, 201);
  })
  .openapi(list, async (c) => c.json(await listFunctions(deps(c), c.req.valid("query")), 200))
  .openapi(get, async (c) => c.json(await getFunction(deps(c), c.req.valid("param").name), 200))
  .openapi(update, async (c) => {
    const { name } = c.req.valid("param");
    return c.json(await updateFunction(deps(c), name, c.req.valid("json")), 200);
  })
  .openapi(remove, async (c) => {
    const { name } = c.req.valid("param");
    await deleteFunction(deps(c), name);
    c.get("services").logger.info(
      { function: name, by: c.get("caller").tokenId },
      "function deleted",
    );
    return c.body(null, 204);
  })
  .openapi(putCode, async (c) => {
    const { name } = c.req.valid("param");
    const type = c.req.header("content-type") ?? "";
    if (!/^application\/(zip|x-zip-compressed|octet-stream)\b/i.test(type))
      throw new ApiError("UnsupportedMediaType", "send the zip as application/zip");
    // A 404 before reading (and inflating) up to 50 MB for nothing.
    await findFunctionRow(c.get("services").db, name);
    const zip = await readCodeZip(await readBoundedBody(c, functionLimits.zippedCodeBytes));
    return c.json(await updateFunction(deps(c), name, {}, zip), 200);
  });
