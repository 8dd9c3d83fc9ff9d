import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Logger } from "../lib/logger.js";
import type { Target } from "./targets.js";

export interface GatewayOptions {
  targets: { get(service: string): Target[] | undefined };
  /** Services answer at `<service>.<domain>`. */
  domain: string;
  logger: Logger;
}

const maxBodyBytes = 10 * 1024 * 1024;
const servicePath = /^\/_\/services\/([a-z0-9][a-z0-9-_.]{0,62})(\/.*)?$/;
// Hop-by-hop headers belong to one connection and must not be forwarded (RFC 9110, 7.6.1).
const hopByHop = [
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "proxy-connection",
  "te",
  "trailer",
];

/**
 * The gateway's load balancer: `http://<service>.<domain>/...` or `/_/services/<service>/...`,
 * round robin over the service's healthy tasks. A target that refuses the connection is skipped
 * for the next one, so a task going away costs no failed request.
 */
export function newGatewayApp(options: GatewayOptions) {
  const app = new Hono();
  const next = new Map<string, number>();
  // Bodies are held in memory so a refused connection can be retried on another task: bound them.
  app.use(
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () =>
        gatewayError(
          undefined,
          413,
          "PayloadTooLarge",
          `bodies are limited to ${maxBodyBytes} bytes`,
        ),
    }),
  );

  app.all("*", async (c) => {
    const url = new URL(c.req.url);
    const host = (c.req.header("host") ?? "").split(":")[0] ?? "";
    const suffix = `.${options.domain}`;
    const byPath = servicePath.exec(url.pathname);
    const service =
      byPath?.[1] ?? (host.endsWith(suffix) ? host.slice(0, -suffix.length) : undefined);
    const path = byPath ? (byPath[2] ?? "/") : url.pathname;
    if (!service)
      return gatewayError(
        c.req.header("x-request-id"),
        404,
        "NotFound",
        "no service matches this host or path",
      );

    const targets = options.targets.get(service);
    if (!targets?.length) {
      return gatewayError(
        undefined,
        503,
        "ServiceUnavailable",
        `service ${service} has no healthy task to serve this`,
      );
    }
    const headers = new Headers(c.req.raw.headers);
    for (const name of hopByHop) headers.delete(name);
    headers.set("x-forwarded-host", c.req.header("host") ?? "");
    const hasBody = !["GET", "HEAD"].includes(c.req.method);
    const body = hasBody ? await c.req.arrayBuffer() : undefined;
    const start = next.get(service) ?? 0;
    next.set(service, start + 1);

    for (let attempt = 0; attempt < targets.length; attempt++) {
      const target = targets[(start + attempt) % targets.length] as Target;
      try {
        const response = await fetch(`${target.url}${path}${url.search}`, {
          method: c.req.method,
          headers,
          body,
          redirect: "manual",
        });
        const out = new Headers(response.headers);
        for (const name of hopByHop) out.delete(name);
        return new Response(response.body, { status: response.status, headers: out });
      } catch (error) {
        options.logger.warn(
          { service, task: target.taskId, err: (error as Error).message },
          "target refused; trying the next",
        );
      }
    }
    return gatewayError(undefined, 502, "Internal", `no task of service ${service} answered`);
  });
  return app;
}

function gatewayError(
  requestId: string | undefined,
  status: number,
  code: string,
  message: string,
): Response {
  return Response.json({ error: { code, message, requestId: requestId ?? "gateway" } }, { status });
}
