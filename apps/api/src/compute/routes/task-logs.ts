import { createRoute, z } from "@hono/zod-openapi";
import { logLineSchema, taskLogsQuerySchema, taskLogsSchema } from "@skiff/shared";
import { streamSSE } from "hono/streaming";
import { authorized } from "../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";
import { readTaskLogAfter, readTaskLogTail } from "../services/task-logs.js";
import { getTask } from "../services/tasks.js";

/** How long one XREAD waits for a new line; also how long a stopped task's log may stay quiet. */
const followBlockMs = 5000;

const logs = createRoute({
  method: "get",
  path: "/v1/tasks/{id}/logs",
  tags: ["tasks"],
  summary:
    "The last `tail` lines of a task's containers, oldest first; with `follow`, a text/event-stream of them and then of new lines (one JSON line per `data:` event) until the task stops",
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
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

export const taskLogRoutes = newRouter().openapi(logs, async (c) => {
  const { db, redis, logger } = c.get("services");
  const { id } = c.req.valid("param");
  const { tail, follow } = c.req.valid("query");
  await getTask(db, id);
  const last = await readTaskLogTail(redis, id, tail);
  if (!follow) return c.json({ lines: last.map((stored) => stored.line) }, 200);

  return streamSSE(
    c,
    async (stream) => {
      // XREAD BLOCK holds its connection: each follower gets one of its own.
      const reader = redis.duplicate();
      let closed = false;
      stream.onAbort(() => {
        closed = true;
        reader.disconnect();
      });
      try {
        for (const stored of last)
          await stream.writeSSE({ id: stored.id, data: JSON.stringify(stored.line) });
        let cursor = last.at(-1)?.id ?? "0";
        while (!closed) {
          // Read the status before waiting, so a line shipped just before the stop is drained.
          const stopped = (await getTask(db, id)).status === "stopped";
          const next = await readTaskLogAfter(reader, id, cursor, followBlockMs);
          for (const stored of next)
            await stream.writeSSE({ id: stored.id, data: JSON.stringify(stored.line) });
          cursor = next.at(-1)?.id ?? cursor;
          if (stopped && next.length === 0) break;
        }
      } catch (error) {
        if (!closed) throw error;
      } finally {
        reader.disconnect();
      }
    },
    async (error) => {
      logger.error({ err: error, requestId: c.get("requestId"), taskId: id }, "log follow failed");
    },
  );
});
