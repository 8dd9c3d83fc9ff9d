import { eq } from "drizzle-orm";
import type { Database } from "../../../db/client.js";
import { functions } from "../../../functions/schema/functions.js";
import { notFound } from "../../../lib/errors.js";
import { functionUrls } from "../schema/apis.js";

export type FunctionUrlAuthType = "NONE" | "SKIFF_TOKEN";

async function functionIdOf(db: Database, name: string): Promise<string> {
  const [fn] = await db
    .select({ id: functions.id })
    .from(functions)
    .where(eq(functions.name, name));
  if (!fn) throw notFound(`function ${name}`);
  return fn.id;
}

/** Turns a function's URL on (or changes its auth type). */
export async function putFunctionUrl(db: Database, name: string, authType: FunctionUrlAuthType) {
  const functionId = await functionIdOf(db, name);
  const [row] = await db
    .insert(functionUrls)
    .values({ functionId, authType })
    .onConflictDoUpdate({ target: functionUrls.functionId, set: { authType } })
    .returning();
  if (!row) throw notFound(`function ${name}`);
  return row;
}

export async function getFunctionUrl(db: Database, name: string) {
  const functionId = await functionIdOf(db, name);
  const [row] = await db.select().from(functionUrls).where(eq(functionUrls.functionId, functionId));
  if (!row) throw notFound(`function ${name}'s URL`);
  return row;
}

export async function deleteFunctionUrl(db: Database, name: string) {
  const row = await getFunctionUrl(db, name);
  await db.delete(functionUrls).where(eq(functionUrls.functionId, row.functionId));
  return row;
}
