import { z } from "zod";
import { functionRuntimeSchema } from "./functions.js";

// The api -> agent protocol for function instances, served by the agent on its control port
// (SKIFF_AGENT_PORT, reported at registration and with each heartbeat as `controlPort`). Every
// call carries `Authorization: Bearer <control key>`: an HMAC both ends derive from the node's
// credential (the agent holds it, the api its SHA-256), see @skiff/agent `functionsControlKey`.
//
//   POST   /skiff/v1/instances               StartInstance -> 201 InstanceInfo (container started;
//                                            invocations sent before the runtime is ready wait)
//   POST   /skiff/v1/instances/:id/invoke    body: the event's bytes; headers below
//                                            -> 200 with the outcome in headers, body: the
//                                            function's response or error document
//                                            -> 404 the instance is gone (drop it, start another)
//   DELETE /skiff/v1/instances/:id           -> 204 (stopped and removed; 204 when unknown too)
//   GET    /skiff/v1/instances               -> { instances: InstanceInfo[] }

export const startInstanceSchema = z.strictObject({
  instanceId: z.string().min(1).max(64),
  functionId: z.string().min(1).max(64),
  functionName: z.string().min(1).max(64),
  functionArn: z.string().max(256),
  revision: z.number().int(),
  runtime: functionRuntimeSchema,
  handler: z.string().max(128).nullable(),
  memory: z.number().int(),
  timeout: z.number().int(),
  /** The user's variables with secrets resolved; the agent adds Lambda's reserved ones. */
  environment: z.record(z.string(), z.string()),
  /** A zip the agent fetches at GET /v1/agent/function-code/:sha256 (hex), or an image. */
  code: z.union([
    z.strictObject({ sha256: z.string().regex(/^[a-f0-9]{64}$/), size: z.number().int() }),
    z.strictObject({ image: z.string().max(512) }),
  ]),
  region: z.string().max(32),
});
export type StartInstance = z.infer<typeof startInstanceSchema>;

export const instanceInfoSchema = z.object({
  instanceId: z.string(),
  functionId: z.string(),
  revision: z.number(),
  state: z.enum(["starting", "idle", "busy"]),
  startedAt: z.string(),
  lastUsedAt: z.string().nullable(),
});
export type InstanceInfo = z.infer<typeof instanceInfoSchema>;

/** Request headers of POST /skiff/v1/instances/:id/invoke. */
export const invokeHeaders = {
  requestId: "x-skiff-request-id",
  /** Epoch ms by which the function must answer (Lambda-Runtime-Deadline-Ms). */
  deadlineMs: "x-skiff-deadline-ms",
  traceId: "x-skiff-trace-id",
  clientContext: "x-skiff-client-context",
  cognitoIdentity: "x-skiff-cognito-identity",
  /** "1": answer the last 4 KB of the invocation's log in `logResult`. */
  logTail: "x-skiff-log-tail",
} as const;

/** Response headers of POST /skiff/v1/instances/:id/invoke. */
export const invokeResultHeaders = {
  /**
   * success: the body is the response; error: the runtime reported an error (the body is its
   * `{errorMessage, errorType, stackTrace}`); timeout, exit (killed, out of memory, crashed),
   * init-error: the body is the error document Lambda would answer, and the instance is gone.
   */
  outcome: "x-skiff-outcome",
  durationMs: "x-skiff-duration-ms",
  billedDurationMs: "x-skiff-billed-duration-ms",
  maxMemoryUsedMb: "x-skiff-max-memory-used-mb",
  /** Only on an instance's first invocation: how long its runtime took to be ready. */
  initDurationMs: "x-skiff-init-duration-ms",
  /** Base64 of the invocation's last 4 KB of log, when asked for. */
  logResult: "x-skiff-log-result",
  /** "1": the instance is gone after this invocation; never hand it another. */
  retired: "x-skiff-instance-retired",
} as const;

export const invokeOutcomes = ["success", "error", "timeout", "exit", "init-error"] as const;
export type InvokeOutcome = (typeof invokeOutcomes)[number];
