import { randomBytes, randomUUID } from "node:crypto";
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { Redis } from "ioredis";
import { type WebSocket, WebSocketServer } from "ws";
import type { Database } from "../../../db/client.js";
import type { FunctionsRuntime } from "../../../functions/services/functions-runtime.js";
import type { Logger } from "../../../lib/logger.js";
import { type AccessGate, allowAll } from "../../access.js";
import type { ApiSnapshot, LoadedApi, LoadedRoute } from "../../apis/services/api-table.js";
import { AuthorizerState } from "../../authorizers/services/authorize.js";
import { checkRouteAccess, type RouteAccessContext } from "../../route-access.js";
import {
  type ConnectionFacts,
  connectEvent,
  disconnectEvent,
  messageEvent,
  selectRouteKey,
} from "./events.js";
import { invokeRouteFunction } from "./invoke.js";
import { serveManagement } from "./management.js";
import { OpenConnectionsGauge } from "./open-connections.js";
import {
  type ConnectionAnswer,
  type ConnectionInfo,
  type ConnectionOp,
  ConnectionRelay,
  type LocalConnections,
} from "./relay.js";

export interface WebSocketSettings {
  /** A connection with no message either way this long is closed (API Gateway: 10 min). */
  idleTimeoutMs: number;
  /** A connection is closed this long after it opened, whatever it does (API Gateway: 2 h). */
  maxConnectionMs: number;
  /** Frames past this are refused (API Gateway's message limit: 128 KiB). */
  maxMessageBytes: number;
}

export const defaultWebSocketSettings: WebSocketSettings = {
  idleTimeoutMs: 10 * 60_000,
  maxConnectionMs: 2 * 60 * 60_000,
  maxMessageBytes: 128 * 1024,
};

export interface WebSocketHubOptions {
  apis: { readonly current: ApiSnapshot };
  domain: string;
  redis: Redis;
  db: Database;
  logger: Logger;
  functions: FunctionsRuntime | undefined;
  settings?: Partial<WebSocketSettings>;
  /** API keys and throttles on `$connect`, throttles per message (allowAll by default). */
  gate?: AccessGate | undefined;
  /** Function authorizers' cached decisions; the hub keeps its own by default. */
  authorizers?: AuthorizerState | undefined;
}

interface Connection {
  apiId: string;
  socket: WebSocket;
  facts: ConnectionFacts;
  lastActiveAt: number;
  idle: NodeJS.Timeout;
  max: NodeJS.Timeout;
}

function hostName(host: string | undefined): string {
  if (!host) return "";
  const colon = host.lastIndexOf(":");
  return (colon > host.lastIndexOf("]") ? host.slice(0, colon) : host).toLowerCase();
}

/** Writes an HTTP answer on a socket that asked to upgrade, and closes it. */
function refuse(
  socket: Duplex,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (!socket.writable) return;
  let extra = "";
  for (const name in headers)
    if (name.toLowerCase() !== "content-type") extra += `${name}: ${headers[name]}\r\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\ncontent-type: application/json\r\n${extra}` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** `$connect` on an API without such a route: only the API's throttle applies. */
const implicitConnect = {
  routeKey: "$connect",
  apiKeyRequired: false,
  throttle: undefined,
  authorization: undefined,
};

/**
 * WebSocket APIs on the gateway: accepts upgrades to a WEBSOCKET API's host (after `$connect`
 * allows them), routes each message to a function by the API's selection expression, sends a
 * function's `body` back, tells `$disconnect` of the close, and serves `@connections` for the
 * sockets of every replica through the relay.
 */
export class WebSocketHub implements LocalConnections {
  private readonly settings: WebSocketSettings;
  private readonly server: WebSocketServer;
  private readonly connections = new Map<string, Connection>();
  readonly relay: ConnectionRelay;
  private readonly gauge: OpenConnectionsGauge;
  private readonly access: RouteAccessContext;
  private refresher: NodeJS.Timeout | undefined;

  constructor(private readonly options: WebSocketHubOptions) {
    this.settings = { ...defaultWebSocketSettings, ...options.settings };
    this.server = new WebSocketServer({
      noServer: true,
      maxPayload: this.settings.maxMessageBytes,
    });
    this.relay = new ConnectionRelay({ redis: options.redis, logger: options.logger, local: this });
    this.gauge = new OpenConnectionsGauge({
      redis: options.redis,
      logger: options.logger,
      replicaId: this.relay.replicaId,
    });
    this.access = {
      gate: options.gate ?? allowAll,
      authorizers: options.authorizers ?? new AuthorizerState(),
      functions: options.functions,
      logger: options.logger,
    };
  }

  async start(): Promise<void> {
    await this.relay.start();
    this.gauge.start();
    // Records live twice as long as the refresh period: one missed refresh loses nothing.
    this.refresher = setInterval(
      () => {
        this.relay.refresh(this.connections.keys()).catch((error) => {
          this.options.logger.warn({ err: error }, "refreshing websocket holders failed");
        });
      },
      (this.relay.holderTtlSeconds * 1000) / 2,
    );
    this.refresher.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.refresher);
    await this.gauge.stop();
    for (const [id, connection] of this.connections) {
      connection.socket.terminate();
      await this.relay.release(id).catch(() => {});
    }
    await this.relay.stop();
    this.server.close();
  }

  /** The WebSocket API `req`'s host names, if it is one. */
  private apiOf(req: IncomingMessage): LoadedApi | undefined {
    const name = hostName(req.headers.host);
    const snapshot = this.options.apis.current;
    const custom = snapshot.hosts.get(name);
    let api = custom && "api" in custom ? custom.api : undefined;
    const suffix = `.${this.options.domain}`;
    if (!api && name.endsWith(suffix)) api = snapshot.byName.get(name.slice(0, -suffix.length));
    return api?.protocolType === "WEBSOCKET" ? api : undefined;
  }

  /** Serves a plain HTTP request to a WebSocket API's host: `@connections`, else 426. */
  request(req: IncomingMessage, res: ServerResponse): boolean {
    const api = this.apiOf(req);
    if (!api) return false;
    serveManagement(req, res, api, this.relay, this.options.db).catch((error) => {
      this.options.logger.error({ err: error }, "serving @connections failed");
      if (!res.headersSent) res.writeHead(500).end('{"message":"Internal server error"}');
    });
    return true;
  }

  /** Takes an upgrade to a WebSocket API's host; false when the host is not one. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const api = this.apiOf(req);
    if (!api?.websocket) return false;
    // Only a WebSocket handshake reaches $connect; ws would refuse anything else after it ran.
    if (req.headers.upgrade?.toLowerCase() !== "websocket" || !req.headers["sec-websocket-key"]) {
      refuse(socket, 400, '{"message":"Bad Request"}');
      return true;
    }
    this.accept(req, socket, head, api, api.websocket.routes).catch((error) => {
      this.options.logger.error({ err: error, api: api.name }, "a websocket upgrade failed");
      refuse(socket, 500, '{"message":"Internal server error"}');
    });
    return true;
  }

  private async accept(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    api: LoadedApi,
    routes: Map<string, LoadedRoute>,
  ): Promise<void> {
    const facts: ConnectionFacts = {
      apiId: api.id,
      connectionId: randomBytes(12).toString("base64url"),
      connectedAt: Date.now(),
      domainName: hostName(req.headers.host),
      sourceIp: req.socket.remoteAddress ?? "",
      userAgent: req.headers["user-agent"] ?? null,
    };
    const connect = routes.get("$connect");
    const requestId = randomUUID();
    const mark = (req.url ?? "/").indexOf("?");
    const { isBase64Encoded: _, ...authorizerEvent } = connectEvent(req, facts, requestId);
    const access = await checkRouteAccess(
      api,
      connect ?? implicitConnect,
      {
        req,
        rawPath: mark === -1 ? (req.url ?? "/") : (req.url ?? "/").slice(0, mark),
        rawQueryString: mark === -1 ? "" : (req.url ?? "").slice(mark + 1),
        routeKey: "$connect",
        resource: "$connect",
        pathParameters: undefined,
        apiId: api.id,
        requestId,
        domainName: facts.domainName,
        webSocketConnect: authorizerEvent,
      },
      this.access,
    );
    if (!access.allowed) {
      refuse(socket, access.status, access.body, access.headers);
      return;
    }
    // What later events of the connection carry, as API Gateway's: the authorizer's context
    // (one level up, as in REST-style events) and the key that let the client in.
    if (access.authorizer)
      facts.authorizer =
        "jwt" in access.authorizer ? access.authorizer.jwt : access.authorizer.lambda;
    if (access.apiKeyId) {
      const apiKey = req.headers["x-api-key"];
      facts.apiKey = typeof apiKey === "string" ? apiKey : undefined;
      facts.apiKeyId = access.apiKeyId;
    }
    if (connect) {
      const outcome = await invokeRouteFunction(
        this.options.functions,
        connect,
        connectEvent(req, facts, requestId),
        requestId,
        this.options.logger,
      );
      if (outcome.kind === "error") {
        refuse(socket, outcome.status, `{"message":"${outcome.message}"}`);
        return;
      }
      // A $connect function refuses with a non-2xx statusCode; no statusCode lets the client in.
      const response = outcome.response as { statusCode?: unknown; body?: unknown } | null;
      const status = typeof response?.statusCode === "number" ? response.statusCode : 200;
      if (status < 200 || status > 299) {
        const body = typeof response?.body === "string" ? response.body : "";
        refuse(socket, status >= 400 && status <= 599 ? status : 403, body);
        return;
      }
    }
    if (socket.destroyed) return;
    this.server.handleUpgrade(req, socket, head, (ws) => this.opened(ws, req, facts, routes));
  }

  private opened(
    ws: WebSocket,
    req: IncomingMessage,
    facts: ConnectionFacts,
    routes: Map<string, LoadedRoute>,
  ): void {
    const { logger } = this.options;
    const id = facts.connectionId;
    const connection: Connection = {
      apiId: facts.apiId,
      socket: ws,
      facts,
      lastActiveAt: Date.now(),
      idle: setTimeout(() => ws.close(1001, "Going away"), this.settings.idleTimeoutMs),
      max: setTimeout(() => ws.close(1001, "Going away"), this.settings.maxConnectionMs),
    };
    this.connections.set(id, connection);
    this.gauge.opened(facts.apiId);
    this.relay.hold(facts.apiId, id).catch((error) => {
      logger.warn({ err: error, connectionId: id }, "recording a websocket holder failed");
    });
    ws.on("error", (error) => logger.debug({ err: error, connectionId: id }, "websocket error"));
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      this.touch(connection);
      void this.onMessage(connection, routes, data, isBinary);
    });
    ws.once("close", (code: number, reason: Buffer) => {
      clearTimeout(connection.idle);
      clearTimeout(connection.max);
      this.connections.delete(id);
      this.gauge.closed(facts.apiId);
      this.relay.release(id).catch(() => {});
      const disconnect = routes.get("$disconnect");
      if (!disconnect) return;
      const requestId = randomUUID();
      // Best effort, as API Gateway: nothing can be sent to a closed client.
      void invokeRouteFunction(
        this.options.functions,
        disconnect,
        disconnectEvent(req, facts, code, reason.toString(), requestId),
        requestId,
        logger,
      );
    });
  }

  private touch(connection: Connection): void {
    connection.lastActiveAt = Date.now();
    connection.idle.refresh();
  }

  private async onMessage(
    connection: Connection,
    routes: Map<string, LoadedRoute>,
    data: Buffer,
    isBinary: boolean,
  ): Promise<void> {
    const { facts, socket } = connection;
    const requestId = randomUUID();
    // Routes changed since the connection opened apply to its next messages.
    const api = this.apiById(facts.apiId);
    const current = api?.websocket;
    if (current) routes = current.routes;
    const expression = current?.selectionExpression ?? "$request.body.action";
    const selected = selectRouteKey(expression, data, isBinary);
    const route =
      (selected !== undefined && !selected.startsWith("$") ? routes.get(selected) : undefined) ??
      routes.get("$default");
    const frame = (message: string) =>
      JSON.stringify({ message, connectionId: facts.connectionId, requestId });
    if (!route) {
      socket.send(frame("Forbidden"));
      return;
    }
    // The API's and the route's throttles count messages, as API Gateway's route throttling
    // does; keys are not checked again (a connection's key was checked on $connect).
    if (api?.throttle || route.throttle) {
      const decision = await this.access.gate.admit({
        apiId: facts.apiId,
        routeKey: route.routeKey,
        apiKeyRequired: false,
        apiKey: undefined,
        apiThrottle: api?.throttle,
        routeThrottle: route.throttle,
      });
      if (!decision.allowed) {
        if (socket.readyState === socket.OPEN) socket.send(frame("Too Many Requests"));
        return;
      }
    }
    const outcome = await invokeRouteFunction(
      this.options.functions,
      route,
      messageEvent(facts, route.routeKey, data, isBinary, requestId),
      requestId,
      this.options.logger,
    );
    if (socket.readyState !== socket.OPEN) return;
    if (outcome.kind === "error") {
      socket.send(frame(outcome.status === 429 ? "Too Many Requests" : "Internal server error"));
      return;
    }
    const response = outcome.response;
    if (typeof response !== "object" || response === null || !("body" in response)) return;
    const body = (response as { body: unknown }).body;
    if (body === undefined || body === null) return;
    this.touch(connection);
    socket.send(typeof body === "string" ? body : JSON.stringify(body));
  }

  private apiById(apiId: string): LoadedApi | undefined {
    for (const api of this.options.apis.current.byName.values()) {
      if (api.id === apiId) return api;
    }
    return undefined;
  }

  /** A management call on a connection this process holds. */
  act(apiId: string, connectionId: string, op: ConnectionOp): ConnectionAnswer {
    const connection = this.connections.get(connectionId);
    if (!connection || connection.apiId !== apiId) return { gone: true };
    const { socket } = connection;
    if (socket.readyState !== socket.OPEN) return { gone: true };
    if (op.op === "post") {
      this.touch(connection);
      socket.send(op.data, { binary: false });
      return { gone: false };
    }
    if (op.op === "delete") {
      socket.close(1000, "");
      return { gone: false };
    }
    const info: ConnectionInfo = {
      connectedAt: new Date(connection.facts.connectedAt).toISOString(),
      identity: { sourceIp: connection.facts.sourceIp, userAgent: connection.facts.userAgent },
      lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
    };
    return { gone: false, info };
  }
}
