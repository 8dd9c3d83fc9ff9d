import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { RuntimeApi } from "./runtime-api.js";
import type { RuntimeAnswer } from "./runtime-contract.js";

// Skiff's runtime images and clients (runtimes/, built by scripts/build-runtime-images.sh) in
// real containers answering through the agent's real RuntimeApi: code copied in at /var/task as
// the agent does (putArchive, no bind mount), each container on the test's own network at an
// address fixed at create, so the Runtime API knows who calls.
const run = promisify(execFile);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
const suffix = randomBytes(4).toString("hex");
const docker = new Docker();
const networkName = `skiff-rt-test-${suffix}`;
const arn = (name: string) => `arn:aws:lambda:local:000000000000:function:${name}`;

let api: RuntimeApi;
let port: number;
let gateway: string;
let subnetBase: number[];
let nextHost = 10;
const byAddress = new Map<string, string>();

interface Runtime {
  id: string;
  container: Docker.Container;
}

/** A tar of `files` (path -> text; a leading "!" makes it executable), as the agent puts it. */
async function codeTar(files: Record<string, string>): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "skiff-rt-code-"));
  try {
    for (const [path, text] of Object.entries(files)) {
      const target = join(dir, path);
      await mkdir(dirname(target), { recursive: true });
      const executable = text.startsWith("!");
      await writeFile(target, executable ? text.slice(1) : text);
      await chmod(target, executable ? 0o755 : 0o644);
    }
    const { stdout } = await run(
      "tar",
      ["-C", dir, "--owner=0", "--group=0", "--numeric-owner", "-cf", "-", "."],
      { encoding: "buffer", maxBuffer: 64 * 1024 * 1024 },
    );
    return stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function startRuntime(
  image: string,
  handler: string | null,
  files: Record<string, string>,
  name = "fn",
  extraEnv: Record<string, string> = {},
): Promise<Runtime> {
  const id = `fni_${suffix}${randomBytes(4).toString("hex")}`;
  const address = [...subnetBase.slice(0, 3), (subnetBase[3] ?? 0) + nextHost++].join(".");
  byAddress.set(address, id);
  const env: Record<string, string> = {
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "256",
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: "2026/12/04/[$LATEST]0123456789abcdef",
    AWS_LAMBDA_RUNTIME_API: `${gateway}:${port}`,
    AWS_REGION: "local",
    LAMBDA_TASK_ROOT: "/var/task",
    ...extraEnv,
  };
  if (handler) env._HANDLER = handler;
  const container = await docker.createContainer({
    name: `skiff-rt-test-${id}`,
    Image: image,
    Labels: { "skiff.test": suffix },
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    HostConfig: {
      NetworkMode: networkName,
      Memory: 256 * 1024 * 1024,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges:true"],
    },
    NetworkingConfig: {
      EndpointsConfig: { [networkName]: { IPAMConfig: { IPv4Address: address } } },
    },
  });
  if (Object.keys(files).length)
    await container.putArchive(await codeTar(files), { path: "/var/task" });
  await container.start();
  return { id, container };
}

async function invoke(runtime: Runtime, payload: unknown, timeoutMs = 20_000) {
  const requestId = randomBytes(8).toString("hex");
  const deadlineMs = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const answer = await Promise.race([
    api.invoke(runtime.id, {
      requestId,
      payload: Buffer.from(JSON.stringify(payload)),
      deadlineMs,
      functionArn: arn("fn"),
      traceId: "Root=1-00000000-000000000000000000000000;Sampled=0",
      clientContext: JSON.stringify({ custom: { from: "test" } }),
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void logsOf(runtime)
          .catch((error: Error) => error.message)
          .then((logs) => reject(new Error(`no answer; the container's output: ${logs}`)));
      }, timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  return { requestId, deadlineMs, answer };
}

function json(answer: RuntimeAnswer): Record<string, unknown> {
  if (answer.kind === "too-large") throw new Error("too large");
  return JSON.parse(answer.body.toString("utf8")) as Record<string, unknown>;
}

async function logsOf(runtime: Runtime): Promise<string> {
  const raw = await runtime.container.logs({ stdout: true, stderr: true });
  return raw.toString("utf8");
}

// The engine's log driver takes a container's output a moment after the process wrote it.
async function expectLogLine(runtime: Runtime, line: RegExp): Promise<void> {
  await vi.waitFor(async () => expect(await logsOf(runtime)).toMatch(line), {
    timeout: 5_000,
    interval: 100,
  });
}

async function exitCode(runtime: Runtime): Promise<number> {
  const result = (await runtime.container.wait()) as { StatusCode: number };
  return result.StatusCode;
}

beforeAll(async () => {
  await run(join(repo, "scripts/build-runtime-images.sh"), [], { timeout: 600_000 });
  // Fixed addresses need a subnet given at create: take the one the engine picks as free, then
  // make the network again with it spelled out.
  const probe = await docker.createNetwork({ Name: networkName, Labels: { "skiff.test": suffix } });
  const info = (await probe.inspect()) as {
    IPAM: { Config: { Subnet: string; Gateway: string }[] };
  };
  await probe.remove();
  const config = info.IPAM.Config[0];
  if (!config) throw new Error("network without a subnet");
  await docker.createNetwork({
    Name: networkName,
    Labels: { "skiff.test": suffix },
    IPAM: { Config: [{ Subnet: config.Subnet, Gateway: config.Gateway }] },
  });
  gateway = config.Gateway;
  subnetBase = (config.Subnet.split("/")[0] as string).split(".").map(Number);
  api = new RuntimeApi({ identify: (address) => byAddress.get(address), port: 0 });
  port = await api.listen();
}, 600_000);

afterAll(async () => {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`skiff.test=${suffix}`] },
  });
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {}),
    ),
  );
  await docker
    .getNetwork(networkName)
    .remove()
    .catch(() => {});
  await api?.close();
});

const contextProbe = `({
  awsRequestId: context.awsRequestId,
  functionName: context.functionName,
  functionVersion: context.functionVersion,
  invokedFunctionArn: context.invokedFunctionArn,
  memoryLimitInMB: context.memoryLimitInMB,
  logGroupName: context.logGroupName,
  logStreamName: context.logStreamName,
  remaining: context.getRemainingTimeInMillis(),
  waits: context.callbackWaitsForEmptyEventLoop,
  clientContext: context.clientContext,
  trace: process.env._X_AMZN_TRACE_ID,
  uid: process.getuid(),
  event,
})`;

function expectContext(
  body: Record<string, unknown>,
  requestId: string,
  deadlineMs: number,
  event: unknown,
) {
  expect(body).toMatchObject({
    awsRequestId: requestId,
    functionName: "fn",
    functionVersion: "$LATEST",
    invokedFunctionArn: arn("fn"),
    memoryLimitInMB: "256",
    logGroupName: "/aws/lambda/fn",
    logStreamName: "2026/12/04/[$LATEST]0123456789abcdef",
    waits: true,
    clientContext: { custom: { from: "test" } },
    trace: "Root=1-00000000-000000000000000000000000;Sampled=0",
    uid: 993,
    event,
  });
  expect(body.remaining).toBeGreaterThan(0);
  expect(body.remaining).toBeLessThanOrEqual(deadlineMs - Date.now() + 1000);
}

describe("node runtime client", () => {
  it("answers an async CommonJS handler with its context, twice on one instance", async () => {
    const runtime = await startRuntime("skiff/lambda:nodejs24.x", "index.handler", {
      "index.js": `exports.handler = async (event, context) => ${contextProbe};`,
    });
    for (const event of [{ n: 1 }, { n: 2 }]) {
      const { requestId, deadlineMs, answer } = await invoke(runtime, event);
      expect(answer.kind).toBe("response");
      expectContext(json(answer), requestId, deadlineMs, event);
    }
  }, 60_000);

  it("answers a callback handler in a subfolder on nodejs22.x after its event loop empties", async () => {
    const runtime = await startRuntime("skiff/lambda:nodejs22.x", "lib/cb.handler", {
      "lib/cb.js": `let late = false;
exports.handler = (event, context, callback) => {
  setTimeout(() => { late = true; }, 300);
  callback(null, { version: process.version, lateAtCallback: late, ...${contextProbe} });
  setTimeout(() => console.log("timer ran", late), 400);
};`,
    });
    const began = Date.now();
    const { requestId, deadlineMs, answer } = await invoke(runtime, { cb: true });
    expect(answer.kind).toBe("response");
    const body = json(answer);
    expectContext(body, requestId, deadlineMs, { cb: true });
    expect(body.version).toMatch(/^v22\./);
    // Lambda waits for the pending timers before it answers a callback handler.
    expect(Date.now() - began).toBeGreaterThanOrEqual(400);
    await expectLogLine(runtime, new RegExp(`\\t${requestId}\\tINFO\\ttimer ran true`));
  }, 60_000);

  it("loads ESM: an .mjs handler and a .js one under package.json type module", async () => {
    const mjs = await startRuntime("skiff/lambda:nodejs24.x", "app.handler", {
      "app.mjs": `const started = await Promise.resolve("top-level await");
export const handler = async (event) => ({ esm: typeof require === "undefined", started, event });`,
    });
    const typed = await startRuntime("skiff/lambda:nodejs24.x", "src/main.run", {
      "package.json": JSON.stringify({ type: "module" }),
      "src/main.js": `export async function run(event) { return { esm: typeof require === "undefined", event }; }`,
    });
    expect(json((await invoke(mjs, { a: 1 })).answer)).toEqual({
      esm: true,
      started: "top-level await",
      event: { a: 1 },
    });
    expect(json((await invoke(typed, "b")).answer)).toEqual({ esm: true, event: "b" });
  }, 60_000);

  it("reports handled errors in Lambda's shape and keeps serving", async () => {
    const runtime = await startRuntime("skiff/lambda:nodejs24.x", "index.handler", {
      "index.cjs": `exports.handler = async (event) => {
  if (event.fail) throw new TypeError("it failed: " + event.fail);
  return "fine";
};`,
    });
    const { answer } = await invoke(runtime, { fail: "x" });
    expect(answer.kind).toBe("error");
    if (answer.kind !== "error") return;
    expect(answer.errorType).toBe("TypeError");
    const body = json(answer);
    expect(body).toMatchObject({ errorType: "TypeError", errorMessage: "it failed: x" });
    expect(Array.isArray(body.stackTrace)).toBe(true);
    expect((body.stackTrace as string[])[0]).toMatch(/\/var\/task\/index\.cjs/);
    expect(json((await invoke(runtime, {})).answer)).toBe("fine");
  }, 60_000);

  it("reports an uncaught exception and an unhandled rejection of an invocation, then exits", async () => {
    const code = {
      "index.js": `exports.handler = async (event) => {
  if (event.throwLater) setTimeout(() => { throw new RangeError("thrown later"); }, 10);
  if (event.reject) Promise.reject(new Error("nobody waits"));
  if (event.nothing) return undefined;
  return new Promise(() => {});
};`,
    };
    const thrower = await startRuntime("skiff/lambda:nodejs24.x", "index.handler", code);
    const rejecter = await startRuntime("skiff/lambda:nodejs24.x", "index.handler", code);
    // A handler that returns nothing answers null, as on Lambda.
    const nothing = (await invoke(thrower, { nothing: true })).answer;
    expect(nothing.kind === "response" && nothing.body.toString()).toBe("null");
    const thrown = (await invoke(thrower, { throwLater: true })).answer;
    expect(thrown.kind === "error" && thrown.errorType).toBe("RangeError");
    expect(json(thrown)).toMatchObject({ errorType: "RangeError", errorMessage: "thrown later" });
    const rejected = (await invoke(rejecter, { reject: true })).answer;
    expect(rejected.kind === "error" && rejected.errorType).toBe(
      "Runtime.UnhandledPromiseRejection",
    );
    expect(json(rejected).errorMessage).toBe("Error: nobody waits");
    expect(await exitCode(thrower)).not.toBe(0);
    expect(await exitCode(rejecter)).not.toBe(0);
  }, 60_000);

  it("posts an import error and a missing handler to init/error and exits non-zero", async () => {
    const missing = await startRuntime("skiff/lambda:nodejs24.x", "nothere.handler", {
      "index.js": "exports.handler = async () => 1;",
    });
    const unexported = await startRuntime("skiff/lambda:nodejs24.x", "index.other", {
      "index.js": "exports.handler = async () => 1;",
    });
    const imported = (await invoke(missing, {})).answer;
    expect(imported.kind).toBe("init-error");
    if (imported.kind !== "init-error") return;
    expect(imported.errorType).toBe("Runtime.ImportModuleError");
    expect(json(imported).errorMessage).toBe("Error: Cannot find module 'nothere'");
    const notFound = (await invoke(unexported, {})).answer;
    expect(notFound.kind === "init-error" && notFound.errorType).toBe("Runtime.HandlerNotFound");
    expect(await exitCode(missing)).not.toBe(0);
    expect(await exitCode(unexported)).not.toBe(0);
  }, 60_000);
});

describe("python runtime client", () => {
  it("answers a module.function handler with its context, and errors in Lambda's shape", async () => {
    const runtime = await startRuntime("skiff/lambda:python3.11", "app.handler", {
      "app.py": `import os, sys
def handler(event, context):
    if event.get("fail"):
        raise ValueError("bad value")
    print("handling", event)
    return {
        "awsRequestId": context.aws_request_id,
        "functionName": context.function_name,
        "functionVersion": context.function_version,
        "invokedFunctionArn": context.invoked_function_arn,
        "memoryLimitInMB": context.memory_limit_in_mb,
        "logGroupName": context.log_group_name,
        "logStreamName": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "waits": True,
        "clientContext": context.client_context,
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "uid": os.getuid(),
        "event": event,
        "version": sys.version_info[:2],
    }
`,
    });
    const { requestId, deadlineMs, answer } = await invoke(runtime, { py: 1 });
    expect(answer.kind).toBe("response");
    const body = json(answer);
    expectContext(body, requestId, deadlineMs, { py: 1 });
    expect(body.version).toEqual([3, 11]);
    const failed = await invoke(runtime, { fail: true });
    expect(failed.answer.kind === "error" && failed.answer.errorType).toBe("ValueError");
    const error = json(failed.answer);
    expect(error).toMatchObject({
      errorType: "ValueError",
      errorMessage: "bad value",
      requestId: failed.requestId,
    });
    expect((error.stackTrace as string[]).join("")).toMatch(/app\.py/);
    await expectLogLine(runtime, /handling \{'py': 1\}/);
  }, 60_000);

  it("posts an import error to init/error", async () => {
    const runtime = await startRuntime("skiff/lambda:python3.11", "app.handler", {
      "app.py": "import not_a_module\n",
    });
    const { answer } = await invoke(runtime, {});
    expect(answer.kind === "init-error" && answer.errorType).toBe("Runtime.ImportModuleError");
    expect(json(answer).errorMessage).toBe(
      "Unable to import module 'app': No module named 'not_a_module'",
    );
    expect(await exitCode(runtime)).not.toBe(0);
  }, 60_000);
});

describe("provided runtime", () => {
  it("runs /var/task/bootstrap, a sh loop with curl", async () => {
    const runtime = await startRuntime("skiff/lambda:provided", null, {
      bootstrap: `!#!/bin/sh
set -eu
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  headers=$(mktemp)
  event=$(curl -sS -D "$headers" "$api/invocation/next")
  id=$(grep -i '^lambda-runtime-aws-request-id:' "$headers" | cut -d' ' -f2 | tr -d '\\r')
  curl -sS -o /dev/null -X POST -d "{\\"echo\\":$event,\\"id\\":\\"$id\\",\\"user\\":$(id -u)}" "$api/invocation/$id/response"
done
`,
    });
    const { requestId, answer } = await invoke(runtime, { sh: true });
    expect(json(answer)).toEqual({ echo: { sh: true }, id: requestId, user: 993 });
  }, 60_000);
});

describe("AWS's runtime interface client in an image function", () => {
  // skiff-test/lambda-ric:nodejs24.x: node:24-bookworm-slim, npm aws-lambda-ric unchanged as the
  // entrypoint, the handler in the image (runtimes/test-images/aws-lambda-ric).
  it("answers through the Runtime API, errors included", async () => {
    // Lambda passes an image's CMD to its runtime client as _HANDLER.
    const runtime = await startRuntime(
      "skiff-test/lambda-ric:nodejs24.x",
      "index.handler",
      {},
      "fn",
      {
        LAMBDA_TASK_ROOT: "/function",
      },
    );
    const { requestId, answer } = await invoke(runtime, { ric: 1 });
    expect(answer.kind).toBe("response");
    expect(json(answer)).toMatchObject({
      client: "aws-lambda-ric",
      awsRequestId: requestId,
      functionName: "fn",
      invokedFunctionArn: arn("fn"),
      memoryLimitInMB: "256",
      event: { ric: 1 },
    });
    const failed = (await invoke(runtime, { fail: "x" })).answer;
    // AWS's client posts no Lambda-Runtime-Function-Error-Type header and names the stack
    // `trace`: the error type is the body's.
    expect(failed.kind).toBe("error");
    expect(json(failed)).toMatchObject({ errorType: "TypeError", errorMessage: "it failed: x" });
  }, 120_000);
});
