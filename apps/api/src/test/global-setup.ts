import { runRegistryMigrations } from "@skiff/registry";
import type { TestProject } from "vitest/node";
import { openDatabase } from "../db/client.js";
import { runMigrations } from "../db/migrate.js";
import { startTestEngines } from "./engines.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** A PostgreSQL URL whose user may create databases. */
    postgresUrl: string;
    /** A migrated database that each test copies (CREATE DATABASE ... TEMPLATE). */
    templateDatabase: string;
    redisUrl: string;
  }
}

/**
 * Finds PostgreSQL and Redis (from DATABASE_URL / REDIS_URL, else containers), then migrates a
 * template database once, so each test gets a fresh migrated database in milliseconds.
 */
export default async function setup(project: TestProject) {
  const engines = await startTestEngines();
  const templateDatabase = `skiff_template_${process.pid}`;
  const admin = await openDatabase({ url: engines.postgresUrl, dataDir: "" });
  await admin.db.execute(`drop database if exists ${templateDatabase}`);
  await admin.db.execute(`create database ${templateDatabase}`);
  await admin.close();

  const template = await openDatabase({
    url: withDatabase(engines.postgresUrl, templateDatabase),
    dataDir: "",
  });
  await runMigrations(template);
  await runRegistryMigrations(template);
  await template.close();

  project.provide("postgresUrl", engines.postgresUrl);
  project.provide("templateDatabase", templateDatabase);
  project.provide("redisUrl", engines.redisUrl);

  return async () => {
    const cleanup = await openDatabase({ url: engines.postgresUrl, dataDir: "" });
    await cleanup.db.execute(`drop database if exists ${templateDatabase} with (force)`);
    await cleanup.close();
    await engines.stop();
  };
}

/** The same server URL, naming another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
