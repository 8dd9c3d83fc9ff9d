import { createRoute, z } from "@hono/zod-openapi";
import { logLineSchema, taskLogsQuerySchema, taskLogsSchema } from "@skiff/shared";
import { streamSSE } from "hono/streaming";
import { isTokenUsable } from "../../auth/services/tokens.js";
import { authorized } from "../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";
import { readTaskLogAfter, readTaskLogTail } from "../services/task-logs.js";
import { getTask } from "../services/tasks.js";

/**
 * How long a follower waits for a new line before it looks again: the task may have stopped (its
 * status is not published), or a wake-up may have been lost.
 */
const followWaitMs = 5000;

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
  const { db, redis, logger, clock, logFollows, settings } = c.get("services");
  const { id } = c.req.valid("param");
  const { tail, follow } = c.req.valid("query");
  await getTask(db, id);
  if (!follow) {
    const last = await readTaskLogTail(redis, id, tail);
    return c.json({ lines: last.map((stored) => stored.line) }, 200);
  }
  const caller = c.get("caller");
  // Past a cap this throws TooManyRequests: the 429 goes out before the stream starts.
  const follower = await logFollows.follow(caller.tokenId, id);
  let last: Awaited<ReturnType<typeof readTaskLogTail>>;
  try {
    last = await readTaskLogTail(redis, id, tail);
  } catch (error) {
    await follower.release();
    throw error;
  }

  return streamSSE(
    c,
    async (stream) => {
      let closed = false;
      let waiting: { cancel(): void } | undefined;
      stream.onAbort(() => {
        closed = true;
        waiting?.cancel();
      });
      try {
        for (const stored of last)
          await stream.writeSSE({ id: stored.id, data: JSON.stringify(stored.line) });
        let cursor = last.at(-1)?.id ?? "0";
        let checkTokenAt = Date.now() + settings.logFollowRecheckMs;
        // Until the client goes, or the process shuts down (the client may follow again).
        while (!closed && !follower.ended) {
          // A stream outlives its request's auth check: a revoked or expired token's ends here.
          if (Date.now() >= checkTokenAt) {
            if (!(await isTokenUsable(db, caller.tokenId, clock.now()))) {
              await stream.writeSSE({
                event: "error",
                data: JSON.stringify({
                  error: {
                    code: "Unauthorized",
                    message: "the token was revoked or has expired",
                    requestId: c.get("requestId"),
                  },
                }),
              });
              break;
            }
            checkTokenAt = Date.now() + settings.logFollowRecheckMs;
          }
          // Never wait past the next token check.
          const next = follower.nextLines(
            Math.max(0, Math.min(followWaitMs, checkTokenAt - Date.now())),
          );
          waiting = next;
          // Read the status before the lines, so a line shipped just before the stop is drained.
          const stopped = (await getTask(db, id)).status === "stopped";
          const lines = await readTaskLogAfter(redis, id, cursor);
          for (const stored of lines)
            await stream.writeSSE({ id: stored.id, data: JSON.stringify(stored.line) });
          cursor = lines.at(-1)?.id ?? cursor;
          if (lines.length > 0) {
            next.cancel();
            continue;
          }
          if (stopped) {
            next.cancel();
            break;
          }
          await next.grown;
        }
      } catch (error) {
        if (!closed) throw error;
      } finally {
        await follower.release();
      }
    },
    async (error) => {
      logger.error({ err: error, requestId: c.get("requestId"), taskId: id }, "log follow failed");
    },
  );
});
