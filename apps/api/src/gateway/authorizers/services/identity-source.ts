import type { IncomingMessage } from "node:http";

/**
 * The selection expressions Skiff reads: a header or a query parameter, by name. HTTP APIs
 * write `$request.header.X`; WebSocket APIs (their `$connect` authorizers) write
 * `route.request.header.X`, as API Gateway has each.
 */
export const identitySourcePattern =
  /^(\$request|route\.request)\.(header|querystring)\.([A-Za-z0-9!#$%&'*+.^_`|~-]+)$/;

/** A WebSocket API's form of an identity source (`route.request.…`). */
export const isWebSocketIdentitySource = (source: string) => source.startsWith("route.request.");

/**
 * The values of an authorizer's identity sources in a request, in order; undefined when one is
 * missing or empty (API Gateway then answers 401 without asking the authorizer).
 */
export function identityValues(
  req: IncomingMessage,
  rawQueryString: string,
  sources: readonly string[],
): string[] | undefined {
  let query: URLSearchParams | undefined;
  const values: string[] = [];
  for (const source of sources) {
    const match = identitySourcePattern.exec(source);
    if (!match) return undefined;
    const name = match[3] as string;
    let value: string | undefined;
    if (match[2] === "header") {
      const header = req.headers[name.toLowerCase()];
      value = Array.isArray(header) ? header.join(",") : header;
    } else {
      query ??= new URLSearchParams(rawQueryString);
      const all = query.getAll(name);
      value = all.length ? all.join(",") : undefined;
    }
    if (!value) return undefined;
    values.push(value);
  }
  return values;
}
