import { newId, type StartInstance } from "@skiff/shared";
import { AgentUnavailableError, InstanceGoneError } from "./agent-client.js";
import type { FunctionRuntimeConfig } from "./function-config.js";
import type { FunctionsRuntime } from "./functions-runtime.js";
import { LambdaError } from "./lambda-errors.js";
import type { FunctionNode } from "./node-picker.js";
import type { Lease } from "./router.js";

export interface InvokeOptions {
  requestId: string;
  /** Base64 of the client context, passed to the function as Lambda-Runtime-Client-Context. */
  clientContext?: string | undefined;
  /** Answer the last 4 KB of the invocation's log. */
  logTail?: boolean;
}

export interface InvocationResult {
  requestId: string;
  /** The function's response, or its error document when `functionError`. */
  body: Buffer;
  /** The function failed (error, timeout, crash): Lambda's `X-Amz-Function-Error: Unhandled`. */
  functionError: boolean;
  outcome: string;
  /** Base64 of the last 4 KB of the invocation's log, when asked for. */
  logResult: string | undefined;
  coldStart: boolean;
  durationMs: number;
  billedDurationMs: number;
}

interface Target {
  instanceId: string;
  node: FunctionNode;
}

/**
 * Runs one invocation on an instance of the function: a warm one if one is idle, else a new
 * one on a node with room. The one invoke path every caller uses (the Lambda route, Event
 * workers, later API Gateway). Throws LambdaError for throttles and for a platform that cannot
 * run it; a function's own failure is a result (`functionError`), not a throw.
 */
export async function invokeFunction(
  runtime: FunctionsRuntime,
  fn: FunctionRuntimeConfig,
  payload: Buffer,
  options: InvokeOptions,
): Promise<InvocationResult> {
  const { router, nodes, agents, recorder, metrics } = runtime;
  if (!fn.code)
    throw new LambdaError(
      409,
      "ResourceConflictException",
      "The operation cannot be performed at this time. The function is currently in the following state: Pending",
    );
  const acquired = await acquireWithin(runtime, fn);
  if (acquired.kind === "throttled") {
    metrics.throttled(fn.name);
    runtime.minutes.throttled(fn.id, Date.now());
    recorder.record({
      functionId: fn.id,
      functionName: fn.name,
      at: runtime.clock.now(),
      throttled: true,
    });
    throw new LambdaError(429, "TooManyRequestsException", "Rate Exceeded.", {
      Reason:
        acquired.reason === "reserved"
          ? "ReservedFunctionConcurrentInvocationLimitExceeded"
          : "ConcurrentInvocationLimitExceeded",
    });
  }
  const { lease } = acquired;
  metrics.started(fn.name);
  let instanceId: string | undefined;
  let instanceNode: FunctionNode | undefined;
  let retire = false;
  let finished = false;
  try {
    let target: Target | undefined;
    if (acquired.kind === "warm") {
      const node = await nodes.node(acquired.instance.nodeId);
      if (node) target = { instanceId: acquired.instance.instanceId, node };
      // Its node is down or gone: so is the instance.
      else await router.forget(acquired.instance.instanceId);
    }
    let coldStart = false;
    for (;;) {
      if (!target) {
        target = await startInstance(runtime, fn, lease);
        coldStart = true;
      }
      instanceId = target.instanceId;
      instanceNode = target.node;
      try {
        const result = await agents.invoke(target.node, target.instanceId, payload, {
          requestId: options.requestId,
          deadlineMs: Date.now() + fn.timeout * 1000,
          clientContext: options.clientContext,
          logTail: options.logTail ?? false,
        });
        retire = result.retired || (result.outcome !== "success" && result.outcome !== "error");
        const functionError = result.outcome !== "success";
        finished = true;
        metrics.finished(fn.name, {
          error: functionError,
          durationMs: result.durationMs,
          coldStart,
        });
        runtime.minutes.invoked(fn.id, Date.now(), {
          error: functionError,
          durationMs: result.durationMs,
          coldStart,
          concurrency: lease.busy,
        });
        recorder.record({
          functionId: fn.id,
          functionName: fn.name,
          at: runtime.clock.now(),
          error: functionError,
          billedMbMs: fn.memory * result.billedDurationMs,
          durationMs: result.durationMs,
        });
        return {
          requestId: options.requestId,
          body: result.body,
          functionError,
          outcome: result.outcome,
          logResult: result.logResult,
          coldStart,
          durationMs: result.durationMs,
          billedDurationMs: result.billedDurationMs,
        };
      } catch (error) {
        if (error instanceof InstanceGoneError && !coldStart) {
          // A warm instance that died while idle: forget it and start a new one, once.
          await router.forget(target.instanceId);
          instanceId = undefined;
          target = undefined;
          continue;
        }
        retire = true;
        if (error instanceof AgentUnavailableError) {
          // Its state is unknown: stop it, best effort (else its agent stops it once idle).
          const stale = target;
          agents.stop(stale.node, stale.instanceId).catch(() => {});
        }
        if (error instanceof InstanceGoneError || error instanceof AgentUnavailableError) {
          runtime.logger.warn(
            { err: error, function: fn.name },
            "function invocation failed at the agent",
          );
          throw new LambdaError(
            500,
            "ServiceException",
            `the instance could not be reached: ${error.message}`,
          );
        }
        throw error;
      }
    }
  } finally {
    if (!finished) metrics.abandoned(fn.name);
    // An instance of a revision that changed while it ran is retired, never handed out again.
    if (instanceId && !retire) {
      const current = await runtime.directory.get(fn.name).catch(() => undefined);
      if (!current || current.id !== fn.id || current.revision !== fn.revision) retire = true;
    }
    // A caller here waits for a slot: the instance and its lease go to it as they are.
    const handedOn =
      instanceId !== undefined &&
      instanceNode !== undefined &&
      !retire &&
      router.outlives(lease, fn.timeout) &&
      runtime.slots.handOff(fn.id, {
        kind: "warm",
        lease,
        instance: { instanceId, nodeId: instanceNode.id, url: instanceNode.url },
      });
    if (!handedOn) {
      await router.release(lease, instanceId, retire).catch((error) => {
        // The lease expires on its own; the instance is reaped when its node stops listing it.
        runtime.logger.warn({ err: error, function: fn.name }, "function release failed");
      });
      runtime.slots.released(fn.id);
    }
  }
}

/**
 * A replica's retry for a slot another replica may have freed: there is no wake-up across them.
 * Not much shorter: every waiter's retry is a Redis round trip, and a queue of waiters retrying
 * fast costs the api more than the invocations they wait for.
 */
const crossReplicaRetryMs = 200;

/**
 * An execution slot, waiting up to SKIFF_FUNCTION_THROTTLE_WAIT_MS for one while the function
 * (or the platform) is at its concurrency: a burst past the limit queues briefly instead of
 * failing. Reserved concurrency 0 never frees a slot: throttled at once.
 */
async function acquireWithin(
  runtime: FunctionsRuntime,
  fn: FunctionRuntimeConfig,
): Promise<Awaited<ReturnType<FunctionsRuntime["router"]["acquire"]>>> {
  const deadline = Date.now() + runtime.settings.throttleWaitMs;
  for (;;) {
    const acquired = await runtime.router.acquire(fn);
    const left = deadline - Date.now();
    if (acquired.kind !== "throttled" || left <= 0 || fn.reservedConcurrency === 0) return acquired;
    const handed = await runtime.slots.wait(
      fn.id,
      fn.revision,
      Math.min(left, crossReplicaRetryMs),
    );
    if (handed) return handed;
  }
}

/** Starts a new instance on the node with the most free memory that accepts it. */
async function startInstance(
  runtime: FunctionsRuntime,
  fn: FunctionRuntimeConfig,
  lease: Lease,
): Promise<Target> {
  const { router, nodes, agents } = runtime;
  const code = fn.code;
  if (!code) throw new Error("a function without code cannot start");
  const candidates = await nodes.candidates(fn.memory, (ids) => router.nodeMemory(ids));
  let lastError: Error | undefined;
  for (const node of candidates) {
    const instanceId = newId("fni");
    const claimed = await router.register(
      {
        instanceId,
        functionId: fn.id,
        revision: lease.revision,
        nodeId: node.id,
        url: node.url,
        memory: fn.memory,
      },
      node.memoryForInstances,
    );
    if (!claimed) continue;
    const start: StartInstance = {
      instanceId,
      functionId: fn.id,
      functionName: fn.name,
      functionArn: fn.arn,
      revision: fn.revision,
      runtime: fn.runtime,
      handler: fn.handler,
      memory: fn.memory,
      timeout: fn.timeout,
      environment: fn.environment,
      code,
      region: runtime.settings.region,
    };
    try {
      await agents.start(node, start);
      return { instanceId, node };
    } catch (error) {
      lastError = error as Error;
      await router.forget(instanceId);
      runtime.logger.warn(
        { err: error, node: node.id, function: fn.name },
        "instance start failed; trying another node",
      );
    }
  }
  throw new LambdaError(
    500,
    "ServiceException",
    lastError
      ? `no node could start an instance: ${lastError.message}`
      : `no active node of pool fargate has ${fn.memory} MB free for an instance`,
  );
}
