import type { FunctionRuntime, StartInstance } from "@skiff/shared";

/**
 * What the invoke path needs of a function, as `FunctionDirectory.get(name)` answers it from
 * its in-memory cache (never PostgreSQL per invocation). `environment` has secrets resolved;
 * `code` is null until code is uploaded (the function is Pending: invoking it answers 409
 * ResourceConflictException, as Lambda does). `revision` changes with every configuration or code change: instances
 * of an older revision are retired.
 */
export interface FunctionRuntimeConfig {
  id: string;
  name: string;
  arn: string;
  runtime: FunctionRuntime;
  handler: string | null;
  /** MB; cpu in proportion (functionCpuUnits). */
  memory: number;
  /** seconds */
  timeout: number;
  environment: Record<string, string>;
  /** Most concurrent executions; null: only the platform limit; 0: every invocation throttled. */
  reservedConcurrency: number | null;
  async: { maximumRetryAttempts: number; maximumEventAgeSeconds: number };
  code: StartInstance["code"] | null;
  revision: number;
}

/** The one source of function configuration the invoke path reads (built by branch fn-api). */
export interface FunctionLookup {
  get(name: string): Promise<FunctionRuntimeConfig | undefined>;
  /** By id (async jobs carry the id; a renamed or deleted function is looked up by it). */
  getById?(id: string): Promise<FunctionRuntimeConfig | undefined>;
}
