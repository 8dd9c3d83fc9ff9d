import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Node, SkiffClient } from "@skiff/shared";
import { inject } from "vitest";
import { removeNodeLeftovers } from "./docker-cli.js";
import { createTestDatabase } from "./harness.js";
import { type SkiffProcess, startSkiffProcess, waitForHealth } from "./process.js";
import { waitFor } from "./wait.js";

export interface AllInOne {
  skiff: SkiffProcess;
  /** Signed in with the admin token. */
  client: SkiffClient;
  /** The local nodes: one in pool default, one in pool fargate. */
  nodes: Node[];
  /** Its own database (dropped by stop). */
  databaseUrl: string;
  /** A JSON request as the admin, for what the typed client does not cover: any answer. */
  call(method: string, path: string, body?: unknown): Promise<CallAnswer>;
  /** Stops the process, removes its nodes' containers and networks, drops its database. */
  stop(): Promise<void>;
}

export interface CallAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever the route answered
  json: any;
  text: string;
}

/**
 * `npm start`'s build as a user runs it, with its local agents on this host's Docker engine, on
 * a database of its own; resolves once both local nodes (pools default and fargate) joined.
 */
export async function startAllInOne(
  name: string,
  adminToken: string,
  env: Record<string, string> = {},
): Promise<AllInOne> {
  const database = await createTestDatabase();
  const cwd = mkdtempSync(join(tmpdir(), `skiff-${name}-`));
  const skiff = await startSkiffProcess(cwd, {
    DATABASE_URL: database.url,
    REDIS_URL: inject("redisUrl"),
    SKIFF_ADMIN_TOKEN: adminToken,
    SKIFF_LOCAL_AGENT: "true",
    ...env,
  });
  let nodes: Node[] = [];
  const stop = async () => {
    await skiff.end();
    for (const node of nodes) await removeNodeLeftovers(node.id);
    await database.drop();
    rmSync(cwd, { recursive: true, force: true });
  };
  try {
    await waitForHealth(skiff, 15_000);
    const client = new SkiffClient({ baseUrl: skiff.baseUrl, token: adminToken });
    nodes = await waitFor("nodes in pools default and fargate", 10_000, async () => {
      const found = await client.listNodes();
      const joined = ["default", "fargate"].every((pool) => found.some((n) => n.pool === pool));
      return joined ? found : undefined;
    });
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${skiff.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminToken}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, json: text ? JSON.parse(text) : undefined, text };
    };
    return { skiff, client, nodes, databaseUrl: database.url, call, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
