import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { type OpenDatabase, openDatabase } from "../../db/client.js";
import { runMigrations } from "../../db/migrate.js";
import { functionInvocations, functionUsage } from "../../db/schema/index.js";
import { createTestDatabase } from "../../test/harness.js";
import { InvocationRecorder } from "./recorder.js";

// The recorder's batches on both database modes: PostgreSQL and the embedded PGlite.

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function postgres(): Promise<OpenDatabase> {
  const test = await createTestDatabase();
  const database = await openDatabase({ url: test.url, dataDir: "", poolSize: 2 });
  cleanups.push(async () => {
    await database.close();
    await test.drop();
  });
  return database;
}

async function pglite(): Promise<OpenDatabase> {
  const dir = mkdtempSync(join(tmpdir(), "skiff-recorder-"));
  const database = await openDatabase({ dataDir: dir });
  await runMigrations(database);
  cleanups.push(async () => {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return database;
}

describe.each([
  ["PostgreSQL", postgres],
  ["PGlite", pglite],
])("InvocationRecorder on %s", (_mode, open) => {
  it("adds each batch to the hour's sums and keeps an event's furthest state", async () => {
    const { db } = await open();
    const recorder = new InvocationRecorder(db);
    const at = new Date("2026-05-04T10:15:00Z");
    recorder.record({
      functionId: "fn_1",
      functionName: "one",
      at,
      billedMbMs: 128 * 10,
      durationMs: 9,
    });
    recorder.record({
      functionId: "fn_1",
      functionName: "one",
      at,
      error: true,
      billedMbMs: 128 * 5,
      durationMs: 5,
    });
    recorder.record({ functionId: "fn_1", functionName: "one", at, throttled: true });
    await recorder.flush();
    // A second batch (another second, or another replica) adds to the same row.
    recorder.record({
      functionId: "fn_1",
      functionName: "one",
      at: new Date("2026-05-04T10:59:00Z"),
      billedMbMs: 128,
      durationMs: 1,
    });
    const enqueuedAt = new Date("2026-05-04T10:00:00Z");
    recorder.recordEvent({
      requestId: "r1",
      functionId: "fn_1",
      status: "running",
      attempts: 1,
      error: null,
      enqueuedAt,
      finishedAt: null,
    });
    await recorder.flush();
    // A late "queued" from the replica that accepted the event must not undo "running".
    recorder.recordEvent({
      requestId: "r1",
      functionId: "fn_1",
      status: "queued",
      attempts: 0,
      error: null,
      enqueuedAt,
      finishedAt: null,
    });
    await recorder.flush();
    const [usage] = await db
      .select()
      .from(functionUsage)
      .where(eq(functionUsage.functionId, "fn_1"));
    expect(usage).toMatchObject({
      functionName: "one",
      hour: new Date("2026-05-04T10:00:00Z"),
      requests: 3,
      errors: 1,
      throttles: 1,
      billedMbMs: 128 * 16,
      durationMs: 15,
    });
    let [event] = await db
      .select()
      .from(functionInvocations)
      .where(eq(functionInvocations.requestId, "r1"));
    expect(event).toMatchObject({ status: "running", attempts: 1 });
    recorder.recordEvent({
      requestId: "r1",
      functionId: "fn_1",
      status: "succeeded",
      attempts: 1,
      error: null,
      enqueuedAt,
      finishedAt: new Date(),
    });
    await recorder.stop();
    [event] = await db
      .select()
      .from(functionInvocations)
      .where(eq(functionInvocations.requestId, "r1"));
    expect(event).toMatchObject({ status: "succeeded", attempts: 1 });
  });
});
