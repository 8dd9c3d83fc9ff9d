import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { errorResponse } from "./error-body.js";
import type { AppEnv } from "./hono-env.js";

const nul = "\u0000";

/** The path of the first string (value or key) in `value` that holds a NUL, or undefined. */
export function findNul(value: unknown, path: string[] = []): string[] | undefined {
  if (typeof value === "string") return value.includes(nul) ? path : undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findNul(item, [...path, String(index)]);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes(nul)) return [...path, key.replaceAll(nul, "\\u0000")];
      const found = findNul(item, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The name of the path parameter (`:id` of `/v1/nodes/:id`) whose segment holds a NUL. */
function nulPathParam(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string | undefined {
  const segments = new URL(c.req.url).pathname.split("/");
  const index = segments.findIndex((segment) => decode(segment).includes(nul));
  if (index < 0) return undefined;
  const template = routePath(c, -1).split("/")[index] ?? "";
  return template.startsWith(":") ? template.slice(1).replace(/\{.*$/, "") : "path";
}

/**
 * Refuses a NUL character in any path segment, query parameter or JSON body string, for every
 * route at once: PostgreSQL's text cannot store one, so such input would otherwise reach the
 * database and answer 500 (or, in a lookup, fail the query) instead of a 400 naming the field.
 */
export const refuseNul: MiddlewareHandler<AppEnv> = async (c, next) => {
  const param = nulPathParam(c);
  if (param)
    return errorResponse(c, "ValidationError", `invalid param: ${param}: contains a NUL character`);
  for (const [name, values] of Object.entries(c.req.queries())) {
    if (name.includes(nul) || values.some((value) => value.includes(nul)))
      return errorResponse(
        c,
        "ValidationError",
        `invalid query: ${name.replaceAll(nul, "\\u0000")}: contains a NUL character`,
      );
  }
  const type = c.req.header("content-type") ?? "";
  if (/^application\/([a-z0-9.+-]*\+)?json\b/i.test(type)) {
    // Hono caches the parsed body, so the route's validator reads it again for free; a body
    // that does not parse is left for the validator to refuse with its own message.
    const body = await c.req.json().catch(() => undefined);
    const found = findNul(body);
    if (found)
      return errorResponse(
        c,
        "ValidationError",
        `invalid json: ${found.join(".") || "body"}: contains a NUL character`,
      );
  }
  await next();
  return undefined;
};
