import {
  type ContainerSecret,
  type createFunctionSchema,
  type FunctionCode,
  type FunctionInfo,
  type FunctionRuntime,
  newId,
  type UpdateFunction,
} from "@skiff/shared";
import { asc, eq, gt, inArray, sql } from "drizzle-orm";
import type { Redis } from "ioredis";
import type { z } from "zod";
import type { Database, Transaction } from "../../db/client.js";
import { ApiError, conflict, notFound } from "../../lib/errors.js";
import { secrets } from "../../secrets/schema/secrets.js";
import {
  functionCode,
  functionDeadLetters,
  functionInvocations,
  functions,
} from "../schema/functions.js";
import {
  type CheckedZip,
  checkEntryPoint,
  codeSha256Base64,
  handlerModule,
  readCodeZip,
} from "./code-zip.js";
import { dropCodeIfUnused, storeCode } from "./function-code.js";
import type { FunctionDirectory } from "./function-directory.js";
import { publishFunctionChanged } from "./function-directory.js";

export interface FunctionDeps {
  db: Database;
  redis: Redis;
  directory: FunctionDirectory;
}

type FunctionRow = typeof functions.$inferSelect;
type CreateInput = z.output<typeof createFunctionSchema>;

const invalid = (message: string) => new ApiError("ValidationError", message);

/** A function as answers show it: secrets by name only, CodeSha256 in Lambda's base64. */
export function toFunction(row: FunctionRow, arn: string): FunctionInfo {
  const hasCode = row.image !== null || row.codeSha256 !== null;
  return {
    id: row.id,
    name: row.name,
    arn,
    runtime: row.runtime,
    handler: row.handler,
    memory: row.memory,
    timeout: row.timeout,
    environment: row.environment,
    secrets: row.secrets,
    reservedConcurrency: row.reservedConcurrency,
    description: row.description,
    async: {
      maximumRetryAttempts: row.maxRetryAttempts,
      maximumEventAgeSeconds: row.maxEventAgeSeconds,
    },
    code: hasCode
      ? {
          sha256: row.codeSha256 ? codeSha256Base64(row.codeSha256) : null,
          size: row.codeSize,
          image: row.image,
        }
      : null,
    revision: row.revision,
    state: hasCode ? "Active" : "Pending",
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

async function answer(deps: FunctionDeps, row: FunctionRow): Promise<FunctionInfo> {
  return toFunction(row, await deps.directory.arnOf(row.name));
}

// Docker's reference grammar: [host[:port]/]path[:tag][@sha256:digest], lower-case path parts.
const imageReference =
  /^(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*(?::[0-9]{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** New code as given, read and checked before any transaction starts (a zip may be large). */
type NewCode = { image: string } | { zip: CheckedZip };

async function readNewCode(code: FunctionCode | undefined): Promise<NewCode | undefined> {
  if (!code) return undefined;
  if ("image" in code) {
    if (!imageReference.test(code.image))
      throw invalid(`code.image: ${JSON.stringify(code.image)} is not an image reference`);
    return { image: code.image };
  }
  const base64 = code.zipBase64.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0)
    throw invalid("code.zipBase64: not base64");
  return { zip: await readCodeZip(Buffer.from(base64, "base64")) };
}

/** Lambda's reserved variables: set by the runtime, refused in a function's configuration. */
const reservedVariables = new Set([
  "_HANDLER",
  "_X_AMZN_TRACE_ID",
  "AWS_DEFAULT_REGION",
  "AWS_REGION",
  "AWS_EXECUTION_ENV",
  "AWS_LAMBDA_FUNCTION_NAME",
  "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
  "AWS_LAMBDA_FUNCTION_VERSION",
  "AWS_LAMBDA_INITIALIZATION_TYPE",
  "AWS_LAMBDA_LOG_GROUP_NAME",
  "AWS_LAMBDA_LOG_STREAM_NAME",
  "AWS_ACCESS_KEY",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_LAMBDA_RUNTIME_API",
  "LAMBDA_TASK_ROOT",
  "LAMBDA_RUNTIME_DIR",
]);

/** Variables (and secrets' variables) must leave Lambda's reserved names to the runtime. */
function checkVariables(
  environment: Record<string, string> | undefined,
  secretList: ContainerSecret[] | undefined,
): void {
  const names = [
    ...Object.keys(environment ?? {}).map((name) => [`environment.${name}`, name]),
    ...(secretList ?? []).map((secret, index) => [`secrets.${index}.name`, secret.name]),
  ];
  const reserved = names.filter(([, name]) => reservedVariables.has(name ?? ""));
  if (reserved.length > 0)
    throw invalid(
      `invalid json: ${reserved.map(([path, name]) => `${path}: ${name} is reserved (set by the runtime)`).join("; ")}`,
    );
}

/** Refuses a runtime, handler and code that could never start (the instance would fail init). */
function checkShape(
  runtime: FunctionRuntime,
  handler: string | null,
  code: NewCode | undefined,
): void {
  if (runtime.startsWith("nodejs") || runtime === "python3.11") {
    if (!handler)
      throw invalid(`handler: required for ${runtime} (file.export, e.g. index.handler)`);
    handlerModule(handler);
  }
  if (!code) return;
  if ("image" in code) {
    if (runtime !== "image")
      throw invalid(`code.image: only for runtime image; ${runtime} takes code.zipBase64`);
    return;
  }
  checkEntryPoint(runtime, handler, code.zip.files);
}

/** Each named secret must exist; read FOR SHARE so a concurrent delete waits for this change. */
async function ensureSecretsExist(tx: Transaction, wanted: ContainerSecret[]): Promise<void> {
  const names = [...new Set(wanted.map((secret) => secret.valueFrom))];
  if (names.length === 0) return;
  const rows = await tx
    .select({ name: secrets.name })
    .from(secrets)
    .where(inArray(secrets.name, names))
    .for("share");
  const found = new Set(rows.map((row) => row.name));
  const problems = wanted.flatMap((secret, index) =>
    found.has(secret.valueFrom)
      ? []
      : [
          `secrets.${index}.valueFrom: no secret named ${secret.valueFrom} (create it with POST /v1/secrets)`,
        ],
  );
  if (problems.length > 0) throw invalid(`invalid json: ${problems.join("; ")}`);
}

function codeColumns(code: NewCode) {
  return "image" in code
    ? { image: code.image, codeSha256: null, codeSize: null }
    : { image: null, codeSha256: code.zip.sha256, codeSize: code.zip.size };
}

export async function createFunction(
  deps: FunctionDeps,
  input: CreateInput,
): Promise<FunctionInfo> {
  const handler = input.handler ?? null;
  checkVariables(input.environment, input.secrets);
  const code = await readNewCode(input.code);
  checkShape(input.runtime, handler, code);
  const row = await deps.db.transaction(async (tx) => {
    await ensureSecretsExist(tx, input.secrets);
    if (code && "zip" in code) await storeCode(tx, code.zip);
    const [created] = await tx
      .insert(functions)
      .values({
        id: newId("fn"),
        name: input.name,
        runtime: input.runtime,
        handler,
        memory: input.memory,
        timeout: input.timeout,
        environment: input.environment,
        secrets: input.secrets,
        reservedConcurrency: input.reservedConcurrency ?? null,
        description: input.description ?? null,
        maxRetryAttempts: input.async?.maximumRetryAttempts ?? 2,
        maxEventAgeSeconds: input.async?.maximumEventAgeSeconds ?? 21_600,
        ...(code ? codeColumns(code) : {}),
      })
      .onConflictDoNothing({ target: functions.name })
      .returning();
    // Throwing rolls the code row back too: nothing is left of a refused create.
    if (!created) throw conflict(`function ${input.name} already exists`);
    return created;
  });
  // Replicas that looked the name up before it existed forget that it did not.
  await publishFunctionChanged(deps.redis, row.id);
  return answer(deps, row);
}

/** By name; the cursor is the name of the last function of the previous page. */
export async function listFunctions(
  deps: FunctionDeps,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ items: FunctionInfo[]; nextCursor: string | null }> {
  const rows = await deps.db
    .select()
    .from(functions)
    .where(page.cursor ? gt(functions.name, page.cursor) : undefined)
    .orderBy(asc(functions.name))
    .limit(page.limit + 1);
  const shown = rows.slice(0, page.limit);
  const items = await Promise.all(shown.map((row) => answer(deps, row)));
  const nextCursor = rows.length > page.limit ? (shown.at(-1)?.name ?? null) : null;
  return { items, nextCursor };
}

export async function findFunctionRow(db: Database, name: string): Promise<FunctionRow> {
  const [row] = await db.select().from(functions).where(eq(functions.name, name));
  if (!row) throw notFound(`function ${name}`);
  return row;
}

export async function getFunction(deps: FunctionDeps, name: string): Promise<FunctionInfo> {
  return answer(deps, await findFunctionRow(deps.db, name));
}

/**
 * Changes configuration and/or code (PATCH, and PUT .../code with `zip`); every change bumps
 * `revision`, so instances of the old one are retired. A runtime or handler change is checked
 * against the code the function keeps, as a new zip is.
 */
export async function updateFunction(
  deps: FunctionDeps,
  name: string,
  input: UpdateFunction,
  zip?: CheckedZip,
): Promise<FunctionInfo> {
  checkVariables(input.environment, input.secrets);
  const code = zip ? { zip } : await readNewCode(input.code);
  const { row, replaced } = await deps.db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(functions)
      .where(eq(functions.name, name))
      .for("update");
    if (!current) throw notFound(`function ${name}`);
    const runtime = input.runtime ?? current.runtime;
    const handler = input.handler ?? current.handler;
    checkShape(runtime, handler, code);
    if (!code && (runtime !== current.runtime || handler !== current.handler))
      await checkKeptCode(tx, current, runtime, handler);
    if (input.secrets) await ensureSecretsExist(tx, input.secrets);
    if (code && "zip" in code) await storeCode(tx, code.zip);
    const [updated] = await tx
      .update(functions)
      .set({
        runtime,
        handler,
        ...(input.memory === undefined ? {} : { memory: input.memory }),
        ...(input.timeout === undefined ? {} : { timeout: input.timeout }),
        ...(input.environment === undefined ? {} : { environment: input.environment }),
        ...(input.secrets === undefined ? {} : { secrets: input.secrets }),
        ...(input.reservedConcurrency === undefined
          ? {}
          : { reservedConcurrency: input.reservedConcurrency }),
        ...(input.description === undefined ? {} : { description: input.description }),
        ...(input.async?.maximumRetryAttempts === undefined
          ? {}
          : { maxRetryAttempts: input.async.maximumRetryAttempts }),
        ...(input.async?.maximumEventAgeSeconds === undefined
          ? {}
          : { maxEventAgeSeconds: input.async.maximumEventAgeSeconds }),
        ...(code ? codeColumns(code) : {}),
        revision: sql`${functions.revision} + 1`,
        updatedAt: sql`now()`,
      })
      .where(eq(functions.id, current.id))
      .returning();
    if (!updated) throw notFound(`function ${name}`);
    if (current.codeSha256 !== updated.codeSha256) await dropCodeIfUnused(tx, current.codeSha256);
    return { row: updated, replaced: current };
  });
  await publishFunctionChanged(deps.redis, replaced.id);
  return answer(deps, row);
}

/** The code a function keeps must still fit a new runtime or handler. */
async function checkKeptCode(
  tx: Transaction,
  current: FunctionRow,
  runtime: FunctionRuntime,
  handler: string | null,
): Promise<void> {
  if (current.image !== null) {
    if (runtime !== "image")
      throw invalid(`runtime: ${runtime} needs a zip; give code.zipBase64 with the change`);
    return;
  }
  if (current.codeSha256 === null) return;
  if (runtime === "image")
    throw invalid("runtime: image needs code.image; give it with the change");
  const [stored] = await tx
    .select({ zip: functionCode.zip })
    .from(functionCode)
    .where(eq(functionCode.sha256, current.codeSha256));
  if (!stored) return;
  checkEntryPoint(runtime, handler, (await readCodeZip(stored.zip)).files);
}

/** Deletes a function, its code when no other function runs it, and its event records. */
export async function deleteFunction(deps: FunctionDeps, name: string): Promise<void> {
  const deleted = await deps.db.transaction(async (tx) => {
    const [row] = await tx.delete(functions).where(eq(functions.name, name)).returning();
    if (!row) throw notFound(`function ${name}`);
    await dropCodeIfUnused(tx, row.codeSha256);
    await tx.delete(functionDeadLetters).where(eq(functionDeadLetters.functionId, row.id));
    await tx.delete(functionInvocations).where(eq(functionInvocations.functionId, row.id));
    return row;
  });
  // Every replica forgets it; the reaper (branch invoke) stops its instances on this message.
  await publishFunctionChanged(deps.redis, deleted.id);
}
