import type { IncomingMessage, ServerResponse } from "node:http";
import { isIP } from "node:net";
import type { Duplex } from "node:stream";
import type { Database } from "../db/client.js";
import type { FunctionsRuntime } from "../functions/services/functions-runtime.js";
import type { Logger } from "../lib/logger.js";
import { type AccessGate, allowAll } from "./access.js";
import type { ApiSnapshot } from "./apis/services/api-table.js";
import { type PipelineContext, serveApi, serveFunctionUrl } from "./apis/services/pipeline.js";
import { AuthorizerState } from "./authorizers/services/authorize.js";
import { type GatewayErrorCode, sendError } from "./errors.js";
import { type ForwardContext, type ForwardSettings, forward } from "./forward.js";
import { PassiveHealth } from "./health.js";
import type { RequestObserver } from "./observe/observer.js";
import { TargetPools } from "./pools.js";
import type { Target } from "./targets.js";
import { proxyUpgrade, rejectUpgrade } from "./upgrade.js";

export interface GatewaySettings extends ForwardSettings {
  /** Requests in flight at once in this process; 503 past it. */
  maxConcurrent: number;
}

export const defaultGatewaySettings: GatewaySettings = {
  connectTimeoutMs: 5_000,
  responseTimeoutMs: 60_000,
  maxBodyBytes: 10 * 1024 * 1024,
  maxConcurrent: 10_000,
};

export interface GatewayOptions {
  targets: { get(service: string): Target[] | undefined };
  /** Services answer at `<service>.<domain>`. */
  domain: string;
  logger: Logger;
  settings?: Partial<GatewaySettings>;
  health?: PassiveHealth;
  pools?: TargetPools;
  /**
   * HTTP APIs, custom host names and function URLs (gateway/apis), with what serving them needs:
   * the invoke path for function targets, the access gate (API keys, throttles; allowAll by
   * default) and the database for function URLs that take a Skiff token.
   */
  apis?: {
    table: { readonly current: ApiSnapshot };
    functions: FunctionsRuntime | undefined;
    gate?: AccessGate;
    db: Database;
    /** The access log and request metrics of API requests (gateway/observe). */
    observer?: RequestObserver;
  };
  /** WebSocket APIs (gateway/websockets): each takes its hosts' requests and upgrades. */
  websockets?: {
    request(req: IncomingMessage, res: ServerResponse): boolean;
    upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  };
}

export interface Gateway {
  /** node:http's `request` listener. */
  request(req: IncomingMessage, res: ServerResponse): void;
  /** node:http's `upgrade` listener. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  pools: TargetPools;
}

const servicePath = /^\/_\/services\/([a-z0-9][a-z0-9-_.]{0,62})(\/[^?]*)?(\?.*)?$/;

/** The host name of a Host header, without its port (and an IPv6 literal without brackets). */
function hostName(host: string | undefined): string {
  if (!host) return "";
  if (host.startsWith("[")) return host.slice(1, host.indexOf("]")).toLowerCase();
  const colon = host.indexOf(":");
  return (colon === -1 ? host : host.slice(0, colon)).toLowerCase();
}

/**
 * Which service a request is for, and the path its target receives. A service answers at
 * `<service>.<domain>`; `/_/services/<service>/...` only on the gateway's own host names
 * (`localhost`, an IP literal, `<domain>` itself), so no service's host name serves another
 * service's content in its origin.
 */
export function routeOf(
  host: string | undefined,
  url: string,
  domain: string,
): { service: string; path: string } | undefined {
  const name = hostName(host);
  const suffix = `.${domain}`;
  if (name.endsWith(suffix) && name.length > suffix.length) {
    // The gateway's own prefix is never a service's path: it answers 404 under a service host.
    if (url.startsWith("/_/services/")) return undefined;
    return { service: name.slice(0, -suffix.length), path: url };
  }
  if (name === "localhost" || name === domain || isIP(name) !== 0) {
    const match = servicePath.exec(url);
    if (!match) return undefined;
    return { service: match[1] as string, path: `${match[2] ?? "/"}${match[3] ?? ""}` };
  }
  return undefined;
}

/**
 * The gateway's load balancer on node:http: round robin over a service's healthy tasks (targets
 * that failed repeatedly are left out for a while), each request forwarded by `forward`.
 */
export function newGateway(options: GatewayOptions): Gateway {
  const settings = { ...defaultGatewaySettings, ...options.settings };
  const context: ForwardContext = {
    pools: options.pools ?? new TargetPools(settings),
    health: options.health ?? new PassiveHealth(),
    settings,
    logger: options.logger,
  };
  const turns = new Map<string, number>();
  let active = 0;
  const release = () => {
    active--;
  };

  /** A service's healthy targets from the next in turn, those failing lately last. */
  const ordered = (service: string): readonly Target[] | undefined => {
    const targets = options.targets.get(service);
    if (!targets?.length) return undefined;
    const turn = turns.get(service) ?? 0;
    turns.set(service, turn + 1);
    return context.health.order(targets, turn % targets.length);
  };
  const apis = options.apis;
  const pipeline: PipelineContext | undefined = apis && {
    gate: apis.gate ?? allowAll,
    functions: apis.functions,
    forward: context,
    serviceTargets: ordered,
    db: apis.db,
    logger: options.logger,
    authorizers: new AuthorizerState(),
    observer: apis.observer,
  };
  const domainSuffix = `.${options.domain}`;
  const functionSuffix = `.fn.${options.domain}`;
  /**
   * Serves `req` if its host name is an API's, a custom host name or a function URL's; false
   * when it is none of them (then it is a service's, or nothing's).
   */
  const serveByHost = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (!apis || !pipeline) return false;
    const name = hostName(req.headers.host);
    const snapshot = apis.table.current;
    const failed = (error: unknown) => {
      options.logger.error({ err: error, host: name }, "serving an API request failed");
      sendError(res, "BadGateway", "the gateway failed to serve this request");
    };
    const custom = snapshot.hosts.get(name);
    if (custom) {
      if ("api" in custom) {
        serveApi(req, res, custom.api, pipeline).catch(failed);
        return true;
      }
      const targets = ordered(custom.service);
      if (!targets) {
        sendError(
          res,
          "ServiceUnavailable",
          `service ${custom.service} has no healthy task to serve this`,
        );
      } else forward(req, res, targets, req.url ?? "/", context);
      return true;
    }
    if (name.endsWith(functionSuffix) && name.length > functionSuffix.length) {
      const fn = name.slice(0, -functionSuffix.length);
      const url = snapshot.functionUrls.get(fn);
      if (!url)
        sendError(res, "NotFound", `function ${fn} has no URL (PUT /v1/functions/${fn}/url)`);
      else serveFunctionUrl(req, res, fn, url.authType, pipeline).catch(failed);
      return true;
    }
    if (name.endsWith(domainSuffix)) {
      const api = snapshot.byName.get(name.slice(0, -domainSuffix.length));
      if (api) {
        serveApi(req, res, api, pipeline).catch(failed);
        return true;
      }
    }
    return false;
  };

  type Choice =
    | { error: GatewayErrorCode; message: string }
    | { error?: undefined; targets: readonly Target[]; path: string };
  const choose = (req: IncomingMessage): Choice => {
    const route = routeOf(req.headers.host, req.url ?? "/", options.domain);
    if (!route)
      return { error: "NotFound", message: "no service matches this host or path" } as const;
    const targets = ordered(route.service);
    if (!targets) {
      return {
        error: "ServiceUnavailable",
        message: `service ${route.service} has no healthy task to serve this`,
      } as const;
    }
    return { targets, path: route.path };
  };

  return {
    pools: context.pools,
    request(req, res) {
      if (active >= settings.maxConcurrent) {
        sendError(res, "ServiceUnavailable", "the gateway is at its limit of concurrent requests");
        return;
      }
      active++;
      res.once("close", release);
      if (options.websockets?.request(req, res)) return;
      if (serveByHost(req, res)) return;
      const chosen = choose(req);
      if (chosen.error) {
        sendError(res, chosen.error, chosen.message);
        return;
      }
      forward(req, res, chosen.targets, chosen.path, context);
    },
    upgrade(req, socket, head) {
      if (options.websockets?.upgrade(req, socket, head)) return;
      const chosen = choose(req);
      if (chosen.error) {
        rejectUpgrade(socket, chosen.error, chosen.message);
        return;
      }
      proxyUpgrade(req, socket, head, chosen.targets, chosen.path, context);
    },
  };
}

/** The gateway's settings from the parsed environment (main and gateway-main read the same). */
export function gatewaySettingsOf(env: {
  SKIFF_GATEWAY_CONNECT_TIMEOUT_MS: number;
  SKIFF_GATEWAY_RESPONSE_TIMEOUT_MS: number;
  SKIFF_GATEWAY_MAX_BODY_MB: number;
  SKIFF_GATEWAY_MAX_CONCURRENT: number;
}): GatewaySettings {
  return {
    connectTimeoutMs: env.SKIFF_GATEWAY_CONNECT_TIMEOUT_MS,
    responseTimeoutMs: env.SKIFF_GATEWAY_RESPONSE_TIMEOUT_MS,
    maxBodyBytes: Math.floor(env.SKIFF_GATEWAY_MAX_BODY_MB * 1024 * 1024),
    maxConcurrent: env.SKIFF_GATEWAY_MAX_CONCURRENT,
  };
}
