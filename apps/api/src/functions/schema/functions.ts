import type { ContainerSecret, FunctionRuntime } from "@skiff/shared";
import {
  bigint,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from "drizzle-orm/pg-core";

const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => "bytea",
  fromDriver: (value) => (Buffer.isBuffer(value) ? value : Buffer.from(value)),
});

/**
 * Functions (Lambda). `revision` grows with every change of configuration or code: instances
 * started for an older revision are retired, never handed a new invocation.
 */
export const functions = pgTable("functions", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  runtime: text("runtime").$type<FunctionRuntime>().notNull(),
  handler: text("handler"),
  memory: integer("memory").notNull(),
  timeout: integer("timeout").notNull(),
  environment: jsonb("environment").$type<Record<string, string>>().notNull(),
  secrets: jsonb("secrets").$type<ContainerSecret[]>().notNull(),
  reservedConcurrency: integer("reserved_concurrency"),
  description: text("description"),
  maxRetryAttempts: integer("max_retry_attempts").notNull().default(2),
  maxEventAgeSeconds: integer("max_event_age_seconds").notNull().default(21600),
  /** Hex SHA-256 of the code zip (a row of function_code); null for image functions. */
  codeSha256: text("code_sha256"),
  codeSize: bigint("code_size", { mode: "number" }),
  image: text("image"),
  revision: integer("revision").notNull().default(1),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

/** Code zips by content, shared by functions with the same code; fetched by nodes. */
export const functionCode = pgTable("function_code", {
  sha256: text("sha256").primaryKey(),
  zip: bytea("zip").notNull(),
  size: bigint("size", { mode: "number" }).notNull(),
  unzippedSize: bigint("unzipped_size", { mode: "number" }).notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/** Event (async) invocations and their outcome, written in batches off the invoke path. */
export const functionInvocations = pgTable(
  "function_invocations",
  {
    requestId: text("request_id").primaryKey(),
    functionId: text("function_id").notNull(),
    status: text("status", {
      enum: ["queued", "running", "retrying", "succeeded", "failed"],
    }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    error: text("error"),
    enqueuedAt: timestamp("enqueued_at", { withTimezone: true }).notNull(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (table) => [index("function_invocations_function_idx").on(table.functionId, table.enqueuedAt)],
);

/** Event invocations whose every attempt failed, or that grew older than the maximum age. */
export const functionDeadLetters = pgTable(
  "function_dead_letters",
  {
    id: text("id").primaryKey(),
    functionId: text("function_id").notNull(),
    requestId: text("request_id").notNull(),
    payload: text("payload").notNull(),
    error: text("error").notNull(),
    errorType: text("error_type"),
    attempts: integer("attempts").notNull(),
    enqueuedAt: timestamp("enqueued_at", { withTimezone: true }).notNull(),
    failedAt: timestamp("failed_at", { withTimezone: true }).notNull(),
  },
  (table) => [index("function_dead_letters_function_idx").on(table.functionId, table.failedAt)],
);

/**
 * Metered use per function and hour, added to in batches: requests, and memory (MB) x billed
 * duration (ms), so GB-seconds = mbMs / 1024 / 1000 at any window an hour wide or more.
 */
export const functionUsage = pgTable(
  "function_usage",
  {
    functionId: text("function_id").notNull(),
    functionName: text("function_name").notNull(),
    hour: timestamp("hour", { withTimezone: true }).notNull(),
    requests: bigint("requests", { mode: "number" }).notNull().default(0),
    errors: bigint("errors", { mode: "number" }).notNull().default(0),
    throttles: bigint("throttles", { mode: "number" }).notNull().default(0),
    billedMbMs: bigint("billed_mb_ms", { mode: "number" }).notNull().default(0),
    durationMs: bigint("duration_ms", { mode: "number" }).notNull().default(0),
  },
  (table) => [
    primaryKey({ columns: [table.functionId, table.hour] }),
    index("function_usage_hour_idx").on(table.hour),
  ],
);
