import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../../lib/logger.js";
import type { GatewayMetrics } from "./request-metrics.js";

// What the pipeline notes about an API request as it goes (route, key, gate, integration), and
// what is done with it once the response ends: one access log line and the request's counts.

/** Filled in by the pipeline; read when the response closes. */
export interface Observation {
  /** "-" until a route matches (AWS's access logs use "-" for a missing value). */
  routeKey: string;
  apiKeyId: string | undefined;
  throttled: boolean;
  /** performance.now() when the request was handed to its integration. */
  integrationStartedAt: number | undefined;
}

export interface RequestObserver {
  /** Starts observing an API request; the returned object is filled in by the pipeline. */
  begin(req: IncomingMessage, res: ServerResponse, apiId: string, requestId: string): Observation;
}

export interface ObserverOptions {
  /** The access log (one info line per request); none when access logging is off. */
  accessLog: Logger | undefined;
  metrics: GatewayMetrics | undefined;
}

function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/**
 * An observer that logs and counts each request when its response closes (finished or cut off:
 * a client that went away still counts, with the status that was sent or would have been).
 */
export function newRequestObserver(options: ObserverOptions): RequestObserver {
  const { accessLog, metrics } = options;
  return {
    begin(req, res, apiId, requestId) {
      const startedAt = performance.now();
      const seen: Observation = {
        routeKey: "-",
        apiKeyId: undefined,
        throttled: false,
        integrationStartedAt: undefined,
      };
      res.once("close", () => {
        const endedAt = performance.now();
        const latencyMs = endedAt - startedAt;
        const integrationLatencyMs =
          seen.integrationStartedAt === undefined ? undefined : endedAt - seen.integrationStartedAt;
        metrics?.record({
          apiId,
          routeKey: seen.routeKey,
          status: res.statusCode,
          throttled: seen.throttled,
          latencyMs,
          integrationLatencyMs,
        });
        // Only these fields: never a header's value nor an API key's (its id says whose it was),
        // and the path without its query string, which can carry tokens.
        accessLog?.info(
          {
            requestId,
            apiId,
            routeKey: seen.routeKey,
            method: req.method,
            path: (req.url ?? "/").split("?", 1)[0],
            status: res.statusCode,
            latencyMs: roundMs(latencyMs),
            integrationLatencyMs:
              integrationLatencyMs === undefined ? null : roundMs(integrationLatencyMs),
            apiKeyId: seen.apiKeyId ?? null,
            sourceIp: req.socket.remoteAddress ?? null,
            completed: res.writableFinished,
          },
          "api request",
        );
      });
      return seen;
    },
  };
}
