/** Methods a route key may name (API Gateway HTTP APIs), ANY for all of them. */
export const routeMethods = [
  "GET",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "HEAD",
  "OPTIONS",
  "ANY",
] as const;
export type RouteMethod = (typeof routeMethods)[number];

/** One segment of a route's path: a literal, a `{param}`, or the last one's `{greedy+}`. */
export type Segment =
  | { kind: "literal"; value: string }
  | { kind: "param"; name: string }
  | { kind: "greedy"; name: string };

export interface ParsedRouteKey {
  /** `$default` matches any request no other route matches. */
  isDefault: boolean;
  method: RouteMethod;
  path: string;
  segments: Segment[];
}

const literal = /^[A-Za-z0-9._~!$&'()*,;=:@-]+$/;
const paramName = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * Parses an HTTP API route key as API Gateway writes them: `$default`, or `METHOD /path` whose
 * segments are literals, `{name}`, or a last `{name+}` (greedy). Throws an Error whose message
 * says what is wrong (the route layer puts it in a 400 naming the field).
 */
export function parseRouteKey(key: string): ParsedRouteKey {
  if (key === "$default") return { isDefault: true, method: "ANY", path: "", segments: [] };
  const space = key.indexOf(" ");
  if (space === -1) throw new Error('must be "$default" or "METHOD /path", e.g. "GET /items/{id}"');
  const method = key.slice(0, space) as RouteMethod;
  if (!routeMethods.includes(method))
    throw new Error(`method must be one of ${routeMethods.join(", ")}`);
  const path = key.slice(space + 1);
  if (!path.startsWith("/")) throw new Error("path must start with /");
  if (path.length > 512) throw new Error("path must be at most 512 characters");
  const segments: Segment[] = [];
  const names = new Set<string>();
  const parts = path === "/" ? [] : path.slice(1).split("/");
  parts.forEach((part, index) => {
    if (part === "") throw new Error("path must not have empty segments (//) or end with /");
    if (part.startsWith("{") && part.endsWith("}")) {
      const greedy = part.endsWith("+}");
      const name = part.slice(1, greedy ? -2 : -1);
      if (!paramName.test(name))
        throw new Error(`path parameter {${name}} must be a name of letters, digits and _`);
      if (names.has(name)) throw new Error(`path parameter {${name}} appears twice`);
      names.add(name);
      if (greedy && index !== parts.length - 1)
        throw new Error(`greedy parameter {${name}+} must be the last segment`);
      segments.push(greedy ? { kind: "greedy", name } : { kind: "param", name });
      return;
    }
    if (!literal.test(part)) throw new Error(`path segment "${part}" has characters a path cannot`);
    segments.push({ kind: "literal", value: part });
  });
  return { isDefault: false, method, path, segments };
}
