import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle } from "drizzle-orm/postgres-js";
import pino from "pino";
import postgres, { type Sql } from "postgres";
import { inject } from "vitest";
import { type Access, signToken, tokenIssuer, tokenService } from "../auth/jwt.js";
import { withAdvisoryTryLock } from "../db/advisory-lock.js";
import type { RegistryDatabase } from "../db/client.js";
import { runRegistryMigrations } from "../db/migrate.js";
import { type RegistryServer, type RegistryServerOptions, startRegistryServer } from "../server.js";
import { createBlobStore } from "../storage/create-store.js";
import { startTestS3, type TestS3 } from "./s3.js";

declare module "vitest" {
  export interface ProvidedContext {
    postgresUrl: string;
    templateDatabase: string;
    redisUrl: string;
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** The two database drivers Skiff runs on: PostgreSQL (postgres-js) and embedded PGlite. */
export type TestDriver = "postgres" | "pglite";
export const testDrivers: TestDriver[] = ["postgres", "pglite"];

export interface TestRegistry {
  driver: TestDriver;
  url: string;
  /** host:port, for docker and skopeo. */
  address: string;
  server: RegistryServer;
  db: RegistryDatabase;
  /** The database's URL, for a registry process of its own. */
  databaseUrl: string;
  /** The postgres-js client under `db`, for what needs one connection (a session lock). */
  sql: Sql;
  dataDir: string;
  /** The S3 server under the store, when it is one. */
  s3?: TestS3;
  /** A token granting `actions` on each named repository. */
  token(grants: Record<string, string[]>, extra?: Access[]): string;
  /** `fetch` against the registry with a bearer token. */
  fetch(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  close(): Promise<void>;
}

/** Blob storage of a test registry: a directory, or an S3 server pulled from each way. */
export type TestStorage = "fs" | "s3-redirect" | "s3-stream";

let defaultStorage: TestStorage = "fs";

/**
 * The storage of the registries this test file starts when it names none: a suite written
 * once (conformance) runs over every store by a file that sets this and imports it.
 */
export function useTestStorage(storage: TestStorage): void {
  defaultStorage = storage;
}

/**
 * The drivers a suite written once runs over: both over the filesystem store; PostgreSQL alone
 * over S3, where the store, not the driver, is what a second run would test.
 */
export function suiteDrivers(): TestDriver[] {
  return defaultStorage === "fs" ? testDrivers : ["postgres"];
}

/**
 * A registry on a free port over a fresh copy of the migrated template database, or, with
 * `driver: "pglite"`, over a fresh in-memory PGlite database as `npm start` without
 * DATABASE_URL runs it.
 */
export async function startTestRegistry(
  options: Partial<RegistryServerOptions> & { driver?: TestDriver; storage?: TestStorage } = {},
): Promise<TestRegistry> {
  const { driver = "postgres", storage = defaultStorage, ...serverOptions } = options;
  if (driver === "pglite") return startPgliteRegistry(serverOptions);
  const name = `skiff_reg_${randomBytes(6).toString("hex")}`;
  const admin = postgres(inject("postgresUrl"), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name} template ${inject("templateDatabase")}`);
  await admin.end();
  const databaseUrl = withDatabase(inject("postgresUrl"), name);
  const sql = postgres(databaseUrl, { max: 6, onnotice: () => {} });
  const db = drizzle(sql);
  const dataDir = await mkdtemp(join(tmpdir(), "skiff-registry-"));
  const s3 = storage === "fs" ? undefined : await startTestS3();
  const store = s3
    ? await createBlobStore(s3.config(storage === "s3-redirect" ? "redirect" : "stream"))
    : undefined;
  const server = await startRegistryServer({
    db,
    dataDir,
    port: 0,
    host: "127.0.0.1",
    realm: "http://127.0.0.1:9/v1/registry/token",
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }),
    maintenanceIntervalMs: 3600_000,
    exclusive: (key, work) => withAdvisoryTryLock(sql, key, work),
    ...(store ? { store } : {}),
    ...serverOptions,
  });
  return {
    driver,
    ...clientOf(server),
    server,
    db,
    databaseUrl,
    sql,
    dataDir,
    ...(s3 ? { s3 } : {}),
    async close() {
      await server.stop();
      await sql.end({ timeout: 5 });
      const again = postgres(inject("postgresUrl"), { max: 1, onnotice: () => {} });
      await again.unsafe(`drop database if exists ${name} with (force)`);
      await again.end();
      await rm(dataDir, { recursive: true, force: true });
      await s3?.close();
    },
  };
}

async function startPgliteRegistry(options: Partial<RegistryServerOptions>): Promise<TestRegistry> {
  const client = await PGlite.create();
  const db = drizzlePglite(client) as unknown as RegistryDatabase;
  await runRegistryMigrations({ db, kind: "pglite", withLock: (_key, work) => work() });
  const dataDir = await mkdtemp(join(tmpdir(), "skiff-registry-"));
  const server = await startRegistryServer({
    db,
    dataDir,
    port: 0,
    host: "127.0.0.1",
    realm: "http://127.0.0.1:9/v1/registry/token",
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }),
    maintenanceIntervalMs: 3600_000,
    ...options,
  });
  return {
    driver: "pglite",
    ...clientOf(server),
    server,
    db,
    get sql(): Sql {
      throw new Error("a PGlite registry has no postgres-js client");
    },
    get databaseUrl(): string {
      throw new Error("a PGlite registry has no database URL");
    },
    dataDir,
    async close() {
      await server.stop();
      await client.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function clientOf(
  server: RegistryServer,
): Pick<TestRegistry, "url" | "address" | "token" | "fetch"> {
  const url = `http://127.0.0.1:${server.port}`;
  const token = (grants: Record<string, string[]>, extra: Access[] = []) => {
    const now = Math.floor(Date.now() / 1000);
    return signToken(
      {
        iss: tokenIssuer,
        aud: tokenService,
        sub: "test",
        iat: now,
        exp: now + 600,
        access: [
          ...Object.entries(grants).map(([repository, actions]) => ({
            type: "repository",
            name: repository,
            actions,
          })),
          ...extra,
        ],
      },
      server.context.secret,
    );
  };
  return {
    url,
    address: `127.0.0.1:${server.port}`,
    token,
    fetch: (path, init = {}) => {
      const headers = new Headers(init.headers);
      if (init.token) headers.set("authorization", `Bearer ${init.token}`);
      return fetch(`${url}${path}`, { ...init, headers });
    },
  };
}
