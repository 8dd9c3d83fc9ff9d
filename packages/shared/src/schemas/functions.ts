import { z } from "zod";
import { nameSchema } from "../names.js";
import { containerSecretSchema } from "./secrets.js";

// Functions (Lambda): the public resource at /v1/functions. Limits are Lambda's.

export const functionRuntimes = [
  "nodejs22.x",
  "nodejs24.x",
  "python3.11",
  "provided",
  "image",
] as const;
export const functionRuntimeSchema = z.enum(functionRuntimes);
export type FunctionRuntime = z.infer<typeof functionRuntimeSchema>;

export const functionLimits = {
  minMemoryMb: 128,
  maxMemoryMb: 10_240,
  minTimeoutSeconds: 1,
  maxTimeoutSeconds: 900,
  defaultTimeoutSeconds: 3,
  defaultMemoryMb: 128,
  /** Lambda: 1,769 MB of memory is one vCPU; cpu is given in proportion. */
  memoryMbPerVcpu: 1769,
  /** Request and response payload of a synchronous invocation. */
  syncPayloadBytes: 6 * 1024 * 1024,
  /** Payload of an asynchronous (Event) invocation. */
  asyncPayloadBytes: 256 * 1024,
  zippedCodeBytes: 50 * 1024 * 1024,
  unzippedCodeBytes: 250 * 1024 * 1024,
  /** The last bytes of an invocation's log in X-Amz-Log-Result. */
  logTailBytes: 4096,
  maxRetryAttempts: 2,
  minEventAgeSeconds: 60,
  maxEventAgeSeconds: 6 * 3600,
} as const;

/** cpu units (1024 = one core) for a memory size, in proportion as Lambda gives it. */
export function functionCpuUnits(memoryMb: number): number {
  return Math.max(1, Math.round((memoryMb / functionLimits.memoryMbPerVcpu) * 1024));
}

const environmentSchema = z
  .record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,255}$/, "must be a valid environment variable name"),
    z.string().max(4096),
  )
  .refine((env) => Object.keys(env).length <= 100, "at most 100 variables")
  .describe("Environment variables (Lambda's reserved AWS_* names are set by Skiff)");

export const functionCodeSchema = z.union([
  z.strictObject({
    zipBase64: z
      .string()
      .min(1)
      .describe("The zip of the code, base64; larger code: PUT /v1/functions/{name}/code"),
  }),
  z.strictObject({
    image: z
      .string()
      .min(1)
      .max(512)
      .describe("An image whose entrypoint implements the Lambda Runtime API"),
  }),
]);
export type FunctionCode = z.infer<typeof functionCodeSchema>;

const memorySchema = z
  .number()
  .int()
  .min(functionLimits.minMemoryMb)
  .max(functionLimits.maxMemoryMb);
const timeoutSchema = z
  .number()
  .int()
  .min(functionLimits.minTimeoutSeconds)
  .max(functionLimits.maxTimeoutSeconds);

/** How Event invocations are retried and how long they may wait (Lambda's EventInvokeConfig). */
export const asyncConfigSchema = z.strictObject({
  maximumRetryAttempts: z.number().int().min(0).max(functionLimits.maxRetryAttempts).default(2),
  maximumEventAgeSeconds: z
    .number()
    .int()
    .min(functionLimits.minEventAgeSeconds)
    .max(functionLimits.maxEventAgeSeconds)
    .default(functionLimits.maxEventAgeSeconds),
});
export type AsyncConfig = z.infer<typeof asyncConfigSchema>;

export const createFunctionSchema = z.strictObject({
  name: nameSchema,
  runtime: functionRuntimeSchema,
  /** `file.export` for node and python; ignored by `provided` and `image`. */
  handler: z.string().min(1).max(128).optional(),
  code: functionCodeSchema
    .optional()
    .describe("Absent: upload the zip with PUT /v1/functions/{name}/code before invoking"),
  memory: memorySchema
    .default(functionLimits.defaultMemoryMb)
    .describe("MB; cpu in proportion (1769 MB = 1 vCPU)"),
  timeout: timeoutSchema.default(functionLimits.defaultTimeoutSeconds).describe("seconds"),
  environment: environmentSchema.default({}),
  secrets: z
    .array(containerSecretSchema)
    .max(100)
    .default([])
    .describe("Environment variables from Skiff secrets, resolved when an instance starts"),
  reservedConcurrency: z
    .number()
    .int()
    .min(0)
    .max(100_000)
    .optional()
    .describe("Most concurrent executions; 0 stops all invocations"),
  description: z.string().max(256).optional(),
  async: asyncConfigSchema.optional(),
});
export type CreateFunction = z.input<typeof createFunctionSchema>;

/** PATCH /v1/functions/{name}: configuration only (code: PUT .../code or `code` here). */
export const updateFunctionSchema = z.strictObject({
  runtime: functionRuntimeSchema.optional(),
  handler: z.string().min(1).max(128).optional(),
  code: functionCodeSchema.optional(),
  memory: memorySchema.optional(),
  timeout: timeoutSchema.optional(),
  environment: environmentSchema.optional(),
  secrets: z.array(containerSecretSchema).max(100).optional(),
  reservedConcurrency: z.number().int().min(0).max(100_000).nullable().optional(),
  description: z.string().max(256).nullable().optional(),
  async: asyncConfigSchema.partial().optional(),
});
export type UpdateFunction = z.infer<typeof updateFunctionSchema>;

export const functionSchema = z.object({
  id: z.string(),
  name: z.string(),
  arn: z.string().describe("arn:aws:lambda:<region>:<account>:function:<name>"),
  runtime: functionRuntimeSchema,
  handler: z.string().nullable(),
  memory: z.number(),
  timeout: z.number(),
  environment: z.record(z.string(), z.string()),
  secrets: z.array(containerSecretSchema),
  reservedConcurrency: z.number().nullable(),
  description: z.string().nullable(),
  async: z.object({ maximumRetryAttempts: z.number(), maximumEventAgeSeconds: z.number() }),
  /** Absent until code is uploaded; `image` for image functions. */
  code: z
    .object({
      sha256: z.string().nullable().describe("Of the zip, as Lambda's CodeSha256 (base64)"),
      size: z.number().nullable(),
      image: z.string().nullable(),
    })
    .nullable(),
  /** Changes with every configuration or code change; instances of older revisions are retired. */
  revision: z.number(),
  state: z.enum(["Pending", "Active"]).describe("Pending until it has code"),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type FunctionInfo = z.infer<typeof functionSchema>;

/** An Event invocation as GET /v1/functions/{name}/invocations lists it. */
export const asyncInvocationSchema = z.object({
  requestId: z.string(),
  status: z.enum(["queued", "running", "retrying", "succeeded", "failed"]),
  attempts: z.number(),
  error: z.string().nullable(),
  enqueuedAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type AsyncInvocation = z.infer<typeof asyncInvocationSchema>;

/** An Event invocation whose attempts all failed (or that grew too old to run). */
export const deadLetterSchema = z.object({
  id: z.string(),
  requestId: z.string(),
  payload: z.string().describe("The event as it was sent"),
  error: z.string(),
  errorType: z.string().nullable(),
  attempts: z.number(),
  enqueuedAt: z.string(),
  failedAt: z.string(),
});
export type DeadLetter = z.infer<typeof deadLetterSchema>;

/** GET /v1/functions/{name}/metrics?minutes=60 */
export const functionMetricsQuerySchema = z.strictObject({
  minutes: z.coerce.number().int().min(1).max(1440).default(60),
});

/** One minute of a function's invocations, every api replica's counted. */
export const functionMinuteSchema = z.object({
  /** ISO time of the minute's start. */
  minute: z.string(),
  invocations: z.number(),
  errors: z.number(),
  throttles: z.number(),
  coldStarts: z.number(),
  /** Most executions in flight at once, as seen when each invocation started. */
  maxConcurrency: z.number(),
  /** ms, from fixed histogram buckets (the bucket's upper bound); null without invocations. */
  durationP50Ms: z.number().nullable(),
  durationP99Ms: z.number().nullable(),
});
export type FunctionMinute = z.infer<typeof functionMinuteSchema>;

/** Per-minute series for the dashboard's charts, oldest first. */
export const functionMetricsSchema = z.object({
  name: z.string(),
  minutes: z.array(functionMinuteSchema),
});
export type FunctionMetrics = z.infer<typeof functionMetricsSchema>;
