import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

/** Hop-by-hop headers belong to one connection and are never forwarded (RFC 9110, 7.6.1). */
const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** The header names a `Connection` header lists: hop-by-hop for this message too. */
function connectionListed(headers: IncomingHttpHeaders): Set<string> | undefined {
  const value = headers.connection;
  if (!value) return undefined;
  const names = new Set<string>();
  for (const name of value.split(",")) {
    const trimmed = name.trim().toLowerCase();
    if (trimmed) names.add(trimmed);
  }
  return names;
}

/** `headers` without hop-by-hop headers and without those its `Connection` header names. */
export function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = connectionListed(headers);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (hopByHop.has(name) || listed?.has(name)) continue;
    out[name] = headers[name];
  }
  return out;
}

export interface ClientFacts {
  /** The peer address of the client's connection. */
  address: string | undefined;
  /** "http", or "https" behind a TLS proxy that said so. */
  proto: string;
}

/**
 * The request headers a target receives: end-to-end ones (Host kept as the client sent it),
 * `X-Forwarded-For` with the client's address appended to any value it sent, and
 * `X-Forwarded-Proto`/`-Host` when the client did not set them (a TLS proxy in front did).
 * A chunked request body stays chunked: the framing header tells node:http to frame it so.
 */
export function upstreamRequestHeaders(
  headers: IncomingHttpHeaders,
  client: ClientFacts,
): OutgoingHttpHeaders {
  const out = endToEnd(headers);
  const prior = headers["x-forwarded-for"];
  const address = client.address ?? "unknown";
  out["x-forwarded-for"] = prior ? `${prior}, ${address}` : address;
  if (!headers["x-forwarded-proto"]) out["x-forwarded-proto"] = client.proto;
  if (!headers["x-forwarded-host"] && headers.host) out["x-forwarded-host"] = headers.host;
  if (headers["transfer-encoding"] && !headers["content-length"]) {
    out["transfer-encoding"] = "chunked";
  }
  return out;
}
