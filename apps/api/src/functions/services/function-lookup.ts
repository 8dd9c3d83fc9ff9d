import { eq } from "drizzle-orm";
import type { Database } from "../../db/client.js";
import { functions } from "../../db/schema/index.js";
import type { FunctionLookup, FunctionRuntimeConfig } from "./function-config.js";

/**
 * A plain FunctionLookup straight from the `functions` table, with a short cache. A stand-in
 * for branch fn-api's FunctionDirectory (cached, invalidated over `fn:changed`, secrets
 * resolved), which replaces it in main.ts and the test harness when the branches merge.
 */
export class TableFunctionLookup implements FunctionLookup {
  private cache = new Map<string, { at: number; fn: FunctionRuntimeConfig | undefined }>();

  constructor(
    private readonly db: Database,
    private readonly options: { region: string; account?: string; ttlMs?: number },
  ) {}

  invalidate(): void {
    this.cache.clear();
  }

  async get(name: string): Promise<FunctionRuntimeConfig | undefined> {
    const cached = this.cache.get(name);
    if (cached && Date.now() - cached.at < (this.options.ttlMs ?? 1_000)) return cached.fn;
    const [row] = await this.db.select().from(functions).where(eq(functions.name, name));
    const fn = row ? this.toConfig(row) : undefined;
    this.cache.set(name, { at: Date.now(), fn });
    return fn;
  }

  async getById(id: string): Promise<FunctionRuntimeConfig | undefined> {
    const [row] = await this.db.select().from(functions).where(eq(functions.id, id));
    return row ? this.toConfig(row) : undefined;
  }

  private toConfig(row: typeof functions.$inferSelect): FunctionRuntimeConfig {
    return {
      id: row.id,
      name: row.name,
      arn: `arn:aws:lambda:${this.options.region}:${this.options.account ?? "000000000000"}:function:${row.name}`,
      runtime: row.runtime,
      handler: row.handler,
      memory: row.memory,
      timeout: row.timeout,
      environment: row.environment,
      reservedConcurrency: row.reservedConcurrency,
      async: {
        maximumRetryAttempts: row.maxRetryAttempts,
        maximumEventAgeSeconds: row.maxEventAgeSeconds,
      },
      code: row.image
        ? { image: row.image }
        : row.codeSha256
          ? { sha256: row.codeSha256, size: row.codeSize ?? 0 }
          : null,
      revision: row.revision,
    };
  }
}
