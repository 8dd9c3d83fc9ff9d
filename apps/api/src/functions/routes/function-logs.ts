import { createRoute, z } from "@hono/zod-openapi";
import { logLineSchema, nameSchema, taskLogsQuerySchema, taskLogsSchema } from "@skiff/shared";
import { answerLogs } from "../../compute/routes/log-stream.js";
import { authorized } from "../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";
import { functionLogStream } from "../services/function-logs.js";
import { findFunctionRow } from "../services/functions.js";

const logs = createRoute({
  method: "get",
  path: "/v1/functions/{name}/logs",
  operationId: "functionLogs",
  tags: ["functions"],
  summary:
    "The last `tail` lines of a function's instances (START, END and REPORT lines included), oldest first; with `follow`, a text/event-stream of them and then of new lines until the function is deleted",
  description:
    "Follow streams are capped per token and per api process (429 past either), as task logs are.",
  ...authorized("read"),
  request: { params: z.object({ name: nameSchema }), query: taskLogsQuerySchema },
  responses: {
    200: {
      description: "The lines, or with follow an event stream of them",
      content: {
        ...jsonContent(taskLogsSchema),
        "text/event-stream": { schema: logLineSchema },
      },
    },
    ...errorResponses("ValidationError", "NotFound", "TooManyRequests", ...authErrors),
  },
});

export const functionLogRoutes = newRouter().openapi(logs, async (c) => {
  const { db } = c.get("services");
  const { name } = c.req.valid("param");
  const { tail, follow } = c.req.valid("query");
  const { id } = await findFunctionRow(db, name);
  return answerLogs(c, {
    stream: functionLogStream(id),
    tail,
    follow,
    // Deleted, or deleted and created again under the name (another function, another stream).
    ended: () =>
      findFunctionRow(db, name).then(
        (row) => row.id !== id,
        () => true,
      ),
    logContext: { functionId: id },
  });
});
