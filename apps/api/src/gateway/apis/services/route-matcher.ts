import { type ParsedRouteKey, parseRouteKey, type Segment } from "./route-key.js";

export interface MatchedRoute<R> {
  route: R;
  /** Undefined when the route has no parameters (as API Gateway leaves the field out). */
  pathParameters: Record<string, string> | undefined;
}

interface Compiled<R> {
  route: R;
  key: ParsedRouteKey;
  /** ANY: matches every method, after the routes that name one. */
  any: boolean;
}

/** A parameter's value as the function sees it: percent-decoded where that decodes. */
function decoded(raw: string): string {
  if (!raw.includes("%")) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * Orders routes with parameters from the most specific: segment by segment a literal before a
 * parameter before a greedy one, then the longer path, then a method before ANY.
 */
function specificity<R>(a: Compiled<R>, b: Compiled<R>): number {
  const rank = (s: Segment | undefined) =>
    s === undefined ? 3 : s.kind === "literal" ? 0 : s.kind === "param" ? 1 : 2;
  const length = Math.max(a.key.segments.length, b.key.segments.length);
  for (let i = 0; i < length; i++) {
    const diff = rank(a.key.segments[i]) - rank(b.key.segments[i]);
    if (diff !== 0) return diff;
  }
  return Number(a.any) - Number(b.any);
}

/**
 * An API's routes compiled once when the table loads, matched per request as API Gateway does
 * for HTTP APIs: the most specific route wins. An exact path (method over ANY) first, from a
 * map; then routes with parameters and greedy ones in specificity order; then `$default`.
 */
export class RouteMatcher<R> {
  /** "METHOD /path" (ANY included) of routes without parameters. */
  private readonly exact = new Map<string, R>();
  private readonly patterns: Compiled<R>[] = [];
  private readonly fallback: R | undefined;

  constructor(routes: readonly R[], keyOf: (route: R) => string) {
    let fallback: R | undefined;
    for (const route of routes) {
      const key = parseRouteKey(keyOf(route));
      if (key.isDefault) fallback = route;
      else if (key.segments.every((s) => s.kind === "literal"))
        this.exact.set(`${key.method} ${key.path}`, route);
      else this.patterns.push({ route, key, any: key.method === "ANY" });
    }
    this.patterns.sort(specificity);
    this.fallback = fallback;
  }

  /** The route for `method` and `path` (no query; a trailing slash is not ignored). */
  match(method: string, path: string): MatchedRoute<R> | undefined {
    const exact = this.exact.get(`${method} ${path}`) ?? this.exact.get(`ANY ${path}`);
    if (exact !== undefined) return { route: exact, pathParameters: undefined };
    if (this.patterns.length > 0) {
      const parts = path === "/" ? [] : path.slice(1).split("/");
      for (const candidate of this.patterns) {
        if (!candidate.any && candidate.key.method !== method) continue;
        const parameters = matchSegments(candidate.key.segments, parts);
        if (parameters) return { route: candidate.route, pathParameters: parameters };
      }
    }
    if (this.fallback !== undefined) return { route: this.fallback, pathParameters: undefined };
    return undefined;
  }
}

function matchSegments(
  segments: readonly Segment[],
  parts: readonly string[],
): Record<string, string> | undefined {
  const parameters: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as Segment;
    if (segment.kind === "greedy") {
      // A greedy parameter takes one segment at least, and everything after it.
      if (i >= parts.length) return undefined;
      parameters[segment.name] = decoded(parts.slice(i).join("/"));
      return parameters;
    }
    const part = parts[i];
    if (part === undefined || part === "") return undefined;
    if (segment.kind === "literal") {
      if (part !== segment.value) return undefined;
    } else parameters[segment.name] = decoded(part);
  }
  return segments.length === parts.length ? parameters : undefined;
}
