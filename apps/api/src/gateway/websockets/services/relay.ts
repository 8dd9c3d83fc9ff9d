import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "../../../lib/logger.js";
import { channelOf } from "../../../lib/redis.js";

/** What `GET @connections/{id}` answers, as API Gateway's GetConnection. */
export interface ConnectionInfo {
  connectedAt: string;
  identity: { sourceIp: string; userAgent: string | null };
  lastActiveAt: string;
}

export type ConnectionOp = { op: "post"; data: Buffer } | { op: "get" } | { op: "delete" };

/** A management call's outcome: done (with the connection's info for a get) or gone (410). */
export type ConnectionAnswer = { gone: false; info?: ConnectionInfo } | { gone: true };

/** The connections this process holds: the gateway's hub. */
export interface LocalConnections {
  act(apiId: string, connectionId: string, op: ConnectionOp): ConnectionAnswer;
}

interface Command {
  id: string;
  replyTo: string;
  apiId: string;
  connectionId: string;
  op: "post" | "get" | "delete";
  data?: string;
}
interface Reply {
  id: string;
  answer: ConnectionAnswer;
}

const holderKey = (connectionId: string) => `ws:conn:${connectionId}`;
const commandsChannel = (replica: string) => `ws:replica:${replica}`;
const repliesChannel = (replica: string) => `ws:replies:${replica}`;

export interface RelayOptions {
  redis: Redis;
  logger: Logger;
  /** The connections of this process; none in an api process that holds no sockets. */
  local?: LocalConnections;
  /** How long a holder has to answer a management call before it counts as gone. */
  answerTimeoutMs?: number;
  /** How long a holder's record lives without a refresh (the hub refreshes well within it). */
  holderTtlSeconds?: number;
}

/**
 * Reaches a WebSocket connection from any process: each connection's holder (a replica id) is
 * recorded in Redis with a TTL its gateway refreshes, and a management call (post, get, delete)
 * for a connection held elsewhere is published on the holder's channel and answered on the
 * caller's. A holder that is gone (no record, nobody subscribed, no answer in time) means the
 * connection is gone: 410, as API Gateway.
 */
export class ConnectionRelay {
  readonly replicaId = randomUUID();
  readonly holderTtlSeconds: number;
  private subscriber: Redis | undefined;
  private readonly pending = new Map<string, (answer: ConnectionAnswer) => void>();
  private readonly answerTimeoutMs: number;

  constructor(private readonly options: RelayOptions) {
    this.answerTimeoutMs = options.answerTimeoutMs ?? 1_000;
    this.holderTtlSeconds = options.holderTtlSeconds ?? 120;
  }

  async start(): Promise<void> {
    const { redis, logger } = this.options;
    const subscriber = redis.duplicate();
    this.subscriber = subscriber;
    subscriber.on("error", (error) =>
      logger.warn({ err: error.message }, "websocket relay subscriber error"),
    );
    const commands = channelOf(redis, commandsChannel(this.replicaId));
    const replies = channelOf(redis, repliesChannel(this.replicaId));
    subscriber.on("message", (channel: string, message: string) => {
      try {
        if (channel === replies) this.settle(JSON.parse(message) as Reply);
        else if (channel === commands) this.serve(JSON.parse(message) as Command);
      } catch (error) {
        logger.warn({ err: error }, "a websocket relay message could not be handled");
      }
    });
    await subscriber.subscribe(...(this.options.local ? [commands, replies] : [replies]));
  }

  async stop(): Promise<void> {
    for (const resolve of this.pending.values()) resolve({ gone: true });
    this.pending.clear();
    this.subscriber?.disconnect();
  }

  /** Records this process as the holder of `connectionId` (of API `apiId`). */
  async hold(apiId: string, connectionId: string): Promise<void> {
    await this.options.redis.set(
      holderKey(connectionId),
      JSON.stringify({ replica: this.replicaId, apiId }),
      "EX",
      this.holderTtlSeconds,
    );
  }

  /** Keeps the records of the connections still open from expiring. */
  async refresh(connectionIds: Iterable<string>): Promise<void> {
    const batch = this.options.redis.pipeline();
    for (const id of connectionIds) batch.expire(holderKey(id), this.holderTtlSeconds);
    await batch.exec();
  }

  async release(connectionId: string): Promise<void> {
    await this.options.redis.del(holderKey(connectionId));
  }

  /** Runs a management call on the connection wherever it is held. */
  async send(apiId: string, connectionId: string, op: ConnectionOp): Promise<ConnectionAnswer> {
    const { redis, local } = this.options;
    const record = await redis.get(holderKey(connectionId));
    if (!record) return { gone: true };
    const holder = JSON.parse(record) as { replica: string; apiId: string };
    if (holder.apiId !== apiId) return { gone: true };
    if (holder.replica === this.replicaId && local) return local.act(apiId, connectionId, op);
    const command: Command = {
      id: randomUUID(),
      replyTo: repliesChannel(this.replicaId),
      apiId,
      connectionId,
      op: op.op,
      ...(op.op === "post" ? { data: op.data.toString("base64") } : {}),
    };
    const answered = new Promise<ConnectionAnswer>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(command.id);
        resolve({ gone: true });
      }, this.answerTimeoutMs);
      this.pending.set(command.id, (answer) => {
        clearTimeout(timer);
        this.pending.delete(command.id);
        resolve(answer);
      });
    });
    const receivers = await redis.publish(
      channelOf(redis, commandsChannel(holder.replica)),
      JSON.stringify(command),
    );
    if (receivers === 0) {
      // The holder's process is gone without releasing its connections.
      this.pending.get(command.id)?.({ gone: true });
      await redis.del(holderKey(connectionId));
    }
    return answered;
  }

  private settle(reply: Reply): void {
    this.pending.get(reply.id)?.(reply.answer);
  }

  private serve(command: Command): void {
    const { redis, local } = this.options;
    if (!local) return;
    const op: ConnectionOp =
      command.op === "post"
        ? { op: "post", data: Buffer.from(command.data ?? "", "base64") }
        : { op: command.op };
    const answer = local.act(command.apiId, command.connectionId, op);
    const reply: Reply = { id: command.id, answer };
    redis.publish(channelOf(redis, command.replyTo), JSON.stringify(reply)).catch((error) => {
      this.options.logger.warn({ err: error }, "answering a websocket relay call failed");
    });
  }
}
