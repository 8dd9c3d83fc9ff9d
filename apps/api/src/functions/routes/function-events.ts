import { createRoute, z } from "@hono/zod-openapi";
import {
  asyncInvocationSchema,
  deadLetterSchema,
  nameSchema,
  pageSchema,
  paginationQuerySchema,
} from "@skiff/shared";
import { authorized } from "../../lib/auth.js";
import { ApiError, notFound } from "../../lib/errors.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";
import {
  listDeadLetters,
  listInvocations,
  redriveDeadLetter,
} from "../services/function-events.js";
import { findFunctionRow } from "../services/functions.js";

const nameParam = z.object({ name: nameSchema });

const invocations = createRoute({
  method: "get",
  path: "/v1/functions/{name}/invocations",
  operationId: "listFunctionInvocations",
  tags: ["functions"],
  summary: "The function's Event invocations and their status, newest first",
  ...authorized("read"),
  request: { params: nameParam, query: paginationQuerySchema },
  responses: {
    200: {
      description: "A page of invocations",
      content: jsonContent(pageSchema(asyncInvocationSchema)),
    },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

const deadLetters = createRoute({
  method: "get",
  path: "/v1/functions/{name}/dead-letters",
  operationId: "listFunctionDeadLetters",
  tags: ["functions"],
  summary: "Event invocations that failed every attempt (or grew too old), newest first",
  ...authorized("read"),
  request: { params: nameParam, query: paginationQuerySchema },
  responses: {
    200: {
      description: "A page of dead letters",
      content: jsonContent(pageSchema(deadLetterSchema)),
    },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

const redrive = createRoute({
  method: "post",
  path: "/v1/functions/{name}/dead-letters/{id}/redrive",
  operationId: "redriveFunctionDeadLetter",
  tags: ["functions"],
  summary: "Queue a dead letter's event again (same request id) and remove the dead letter",
  ...authorized("deploy"),
  request: { params: nameParam.extend({ id: z.string().min(1).max(64) }) },
  responses: {
    202: {
      description: "Queued",
      content: jsonContent(z.object({ requestId: z.string() })),
    },
    ...errorResponses("ValidationError", "NotFound", "ServiceUnavailable", ...authErrors),
  },
});

export const functionEventRoutes = newRouter()
  .openapi(invocations, async (c) => {
    const { db } = c.get("services");
    const { id } = await findFunctionRow(db, c.req.valid("param").name);
    return c.json(await listInvocations(db, id, c.req.valid("query")), 200);
  })
  .openapi(deadLetters, async (c) => {
    const { db } = c.get("services");
    const { id } = await findFunctionRow(db, c.req.valid("param").name);
    return c.json(await listDeadLetters(db, id, c.req.valid("query")), 200);
  })
  .openapi(redrive, async (c) => {
    const { db, functionDirectory, enqueueFunctionEvent } = c.get("services");
    const { name, id } = c.req.valid("param");
    if (!enqueueFunctionEvent)
      throw new ApiError("ServiceUnavailable", "Event invocations are not running in this api");
    const fn = await functionDirectory.get(name);
    if (!fn) throw notFound(`function ${name}`);
    return c.json(await redriveDeadLetter(db, fn, id, enqueueFunctionEvent), 202);
  });
