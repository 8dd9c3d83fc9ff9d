import { createServer, type Server } from "node:http";
import type { Duplex } from "node:stream";
import type { Redis } from "ioredis";
import type { Database } from "../db/client.js";
import type { Env } from "../env.js";
import type { FunctionsRuntime } from "../functions/services/functions-runtime.js";
import type { Logger } from "../lib/logger.js";
import type { AccessGate } from "./access.js";
import { ApiTable } from "./apis/services/api-table.js";
import { newKeyGate } from "./keys/services/key-gate.js";
import { newRequestObserver } from "./observe/observer.js";
import { GatewayMetrics } from "./observe/request-metrics.js";
import { type GatewaySettings, gatewaySettingsOf, newGateway } from "./proxy.js";
import { TargetTable } from "./targets.js";
import { WebSocketHub, type WebSocketSettings } from "./websockets/services/hub.js";

export interface GatewayServerOptions {
  db: Database;
  redis: Redis;
  logger: Logger;
  port: number;
  host: string;
  domain: string;
  settings?: Partial<GatewaySettings>;
  /** The invoke path for routes to functions and function URLs (none: they answer 500/404). */
  functions?: FunctionsRuntime | undefined;
  /** Another access gate than API keys and usage plans (gateway/keys), for tests. */
  gate?: AccessGate;
  /** WebSocket connections' idle and maximum durations and message size (tests shorten them). */
  websockets?: Partial<WebSocketSettings>;
  /** One JSON line per API request at info (SKIFF_GATEWAY_ACCESS_LOG); on by default. */
  accessLog?: boolean;
}

export interface GatewayServer {
  stop(): Promise<void>;
}

/** Serves the load balancer on its own port: in the all-in-one process or in gateway-main. */
export async function startGateway(options: GatewayServerOptions): Promise<GatewayServer> {
  const logger = options.logger.child({ part: "gateway" });
  const targets = new TargetTable(options.db, options.redis, logger);
  await targets.start();
  const directory = options.functions?.directory;
  // The configs of functions that routes invoke are read ahead, so a first request does not
  // wait for PostgreSQL (the directory keeps them in memory, told of changes on fn:changed).
  const apis = new ApiTable(options.db, options.redis, logger, 5_000, (snapshot) => {
    for (const name of snapshot.functionNames) directory?.get(name).catch(() => {});
  });
  await apis.start();
  // A syscall per limit check was a fifth of a keyed request's cost: checks from requests that
  // arrive together share one write on a connection of their own.
  const limiterRedis = options.gate
    ? undefined
    : options.redis.duplicate({ enableAutoPipelining: true });
  const keys = limiterRedis
    ? newKeyGate({ db: options.db, redis: options.redis, limiterRedis, logger })
    : undefined;
  await keys?.start();
  const gate = options.gate ?? keys;
  const websockets = new WebSocketHub({
    apis,
    domain: options.domain,
    redis: options.redis,
    db: options.db,
    logger,
    functions: options.functions,
    settings: options.websockets,
    gate,
  });
  await websockets.start();
  const metrics = new GatewayMetrics(options.redis, { logger });
  metrics.start();
  const observer = newRequestObserver({
    accessLog: options.accessLog === false ? undefined : logger.child({ log: "access" }),
    metrics,
  });
  const gateway = newGateway({
    targets,
    domain: options.domain,
    logger,
    settings: options.settings,
    websockets,
    apis: {
      table: apis,
      functions: options.functions,
      db: options.db,
      observer,
      ...(gate ? { gate } : {}),
    },
  });
  const server: Server = createServer(gateway.request);
  // Upgraded sockets (WebSockets) leave node:http's bookkeeping; stop() ends them itself.
  const upgraded = new Set<Duplex>();
  server.on("upgrade", (req, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    socket.once("close", () => upgraded.delete(socket));
    gateway.upgrade(req, socket, head);
  });
  // Keep-alive pools of tasks that went away are let go once their requests are done.
  const prune = setInterval(() => {
    const urls = targets.urls();
    for (const origin of apis.current.urlOrigins) urls.add(origin);
    gateway.pools.retain(urls);
  }, 30_000);
  prune.unref();
  await new Promise<void>((listening, failed) => {
    server.once("error", failed);
    server.listen(options.port, options.host, () => listening());
  });
  logger.info({ port: options.port, domain: options.domain }, "gateway listening");
  return {
    async stop() {
      clearInterval(prune);
      // WebSocket clients are closed first: their sockets would hold server.close() up.
      await websockets.stop();
      const closed = new Promise<void>((done) => server.close(() => done()));
      server.closeIdleConnections();
      // Requests in flight get a moment to finish; then every connection is cut.
      const cut = setTimeout(() => {
        server.closeAllConnections();
        for (const socket of upgraded) socket.destroy();
      }, 1_000);
      await closed;
      clearTimeout(cut);
      gateway.pools.close();
      await targets.stop();
      await apis.stop();
      await keys?.stop();
      limiterRedis?.disconnect();
      await metrics.stop();
    },
  };
}

/** startGateway's settings as the environment gives them, for main.ts and gateway-main.ts. */
export function gatewayOptionsOf(env: Env) {
  return {
    host: env.HOST,
    domain: env.SKIFF_DOMAIN,
    settings: gatewaySettingsOf(env),
    websockets: {
      idleTimeoutMs: env.SKIFF_GATEWAY_WS_IDLE_TIMEOUT_MS,
      maxConnectionMs: env.SKIFF_GATEWAY_WS_MAX_CONNECTION_MS,
    },
    accessLog: env.SKIFF_GATEWAY_ACCESS_LOG,
  };
}
