import { type ServerType, serve } from "@hono/node-server";
import type { Redis } from "ioredis";
import type { Database } from "../db/client.js";
import type { Logger } from "../lib/logger.js";
import { newGatewayApp } from "./proxy.js";
import { TargetTable } from "./targets.js";

export interface GatewayServerOptions {
  db: Database;
  redis: Redis;
  logger: Logger;
  port: number;
  host: string;
  domain: string;
}

export interface GatewayServer {
  stop(): Promise<void>;
}

/** Serves the load balancer on its own port: in the all-in-one process or in gateway-main. */
export async function startGateway(options: GatewayServerOptions): Promise<GatewayServer> {
  const logger = options.logger.child({ part: "gateway" });
  const targets = new TargetTable(options.db, options.redis, logger);
  await targets.start();
  const app = newGatewayApp({ targets, domain: options.domain, logger });
  const server = await new Promise<ServerType>((listening) => {
    const started = serve({ fetch: app.fetch, port: options.port, hostname: options.host }, () =>
      listening(started),
    );
  });
  logger.info({ port: options.port, domain: options.domain }, "gateway listening");
  return {
    async stop() {
      await new Promise<void>((done) => server.close(() => done()));
      await targets.stop();
    },
  };
}
