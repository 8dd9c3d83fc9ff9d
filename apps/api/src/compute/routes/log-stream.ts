import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { isTokenUsable } from "../../auth/services/tokens.js";
import type { AppEnv } from "../../lib/hono-env.js";
import { readLogAfter, readLogTail } from "../services/task-logs.js";

/**
 * How long a follower waits for a new line before it looks again: the source may have ended
 * (a stopped task, a deleted function: not published), or a wake-up may have been lost.
 */
const followWaitMs = 5000;

/**
 * Answers a log stream (a task's, or a function's `fn:<id>`): its last `tail` lines as JSON, or
 * with `follow` a text/event-stream of them and then of new lines (one JSON line per `data:`
 * event) until `ended()` says the source is done, the client goes, or the token stops signing
 * in. Follow streams are capped by LogFollowHub: past a cap this throws TooManyRequests before
 * the stream starts.
 */
export async function answerLogs(
  c: Context<AppEnv>,
  options: {
    stream: string;
    tail: number;
    follow: boolean;
    /** Read before each batch of lines, so a line shipped just before the end is drained. */
    ended: () => Promise<boolean>;
    logContext: Record<string, string>;
  },
) {
  const { db, redis, logger, clock, logFollows, settings } = c.get("services");
  const { stream: name, tail } = options;
  if (!options.follow) {
    const last = await readLogTail(redis, name, tail);
    return c.json({ lines: last.map((stored) => stored.line) }, 200);
  }
  const caller = c.get("caller");
  const follower = await logFollows.follow(caller.tokenId, name);
  let last: Awaited<ReturnType<typeof readLogTail>>;
  try {
    last = await readLogTail(redis, name, tail);
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
          const ended = await options.ended();
          const lines = await readLogAfter(redis, name, cursor);
          for (const stored of lines)
            await stream.writeSSE({ id: stored.id, data: JSON.stringify(stored.line) });
          cursor = lines.at(-1)?.id ?? cursor;
          if (lines.length > 0) {
            next.cancel();
            continue;
          }
          if (ended) {
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
      logger.error(
        { err: error, requestId: c.get("requestId"), ...options.logContext },
        "log follow failed",
      );
    },
  );
}
