import { createRoute, z } from "@hono/zod-openapi";
import { logLineSchema, taskLogsQuerySchema, taskLogsSchema } from "@skiff/shared";
import { authorized } from "../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";
import { getTask } from "../services/tasks.js";
import { answerLogs } from "./log-stream.js";

const logs = createRoute({
  method: "get",
  path: "/v1/tasks/{id}/logs",
  tags: ["tasks"],
  summary:
    "The last `tail` lines of a task's containers, oldest first; with `follow`, a text/event-stream of them and then of new lines (one JSON line per `data:` event) until the task stops",
  description:
    "Follow streams are capped per token and per api process (429 past either); a stream ends with an `error` event (the error body) once its token is revoked or expires.",
  ...authorized("read"),
  request: { params: z.object({ id: z.string().max(64) }), query: taskLogsQuerySchema },
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

export const taskLogRoutes = newRouter().openapi(logs, async (c) => {
  const { db } = c.get("services");
  const { id } = c.req.valid("param");
  const { tail, follow } = c.req.valid("query");
  await getTask(db, id);
  return answerLogs(c, {
    stream: id,
    tail,
    follow,
    ended: async () => (await getTask(db, id)).status === "stopped",
    logContext: { taskId: id },
  });
});
