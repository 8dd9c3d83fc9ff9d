import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type AllInOne, startAllInOne } from "../test/all-in-one.js";
import { docker } from "../test/docker-cli.js";
import { type SkiffProcess, startSkiffProcess, waitForHealth } from "../test/process.js";
import { waitFor } from "../test/wait.js";

// Functions end to end: the all-in-one's fargate node runs real instances of the runtime
// images (scripts/build-runtime-images.sh), invoked through the Lambda route.
const adminToken = "e2e-functions-token-0123456789abcdef";
const idleSeconds = 4;
const runId = randomBytes(4).toString("hex");
const redisPrefix = `test:functions-${runId}:`;
const imageTag = `skiff-test/fn-image-${runId}:1`;
const run = promisify(execFile);

let stack: AllInOne;
let base = "";
const auth = { authorization: `Bearer ${adminToken}` };

beforeAll(async () => {
  stack = await startAllInOne("functions", adminToken, {
    SKIFF_FUNCTION_IDLE_SECONDS: String(idleSeconds),
    SKIFF_FUNCTION_RETRY_DELAY_SECONDS: "0.2",
    // Named, so a second api process below shares the first's view of instances.
    SKIFF_REDIS_PREFIX: redisPrefix,
  });
  base = stack.skiff.baseUrl;
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await run("docker", ["rmi", "-f", imageTag]).catch(() => {});
});

/** A zip of `files` (name -> text), base64, as POST /v1/functions takes it. */
function zipBase64(files: Record<string, string>, modes: Record<string, number> = {}): string {
  const entries = Object.fromEntries(
    Object.entries(files).map(([name, text]) => [
      name,
      [Buffer.from(text), modes[name] ? { os: 3, attrs: (modes[name] ?? 0) << 16 } : {}] as const,
    ]),
  );
  return Buffer.from(zipSync(entries as never)).toString("base64");
}

async function createFunction(body: Record<string, unknown>) {
  const response = await fetch(`${base}/v1/functions`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  expect(response.status, text).toBe(201);
  return JSON.parse(text) as { id: string; name: string; arn: string; revision: number };
}

interface Invocation {
  status: number;
  body: string;
  json: () => unknown;
  functionError: string | null;
  log: string;
  headers: Headers;
}

async function invoke(
  name: string,
  payload: unknown = {},
  headers: Record<string, string> = {},
  through = base,
): Promise<Invocation> {
  const response = await fetch(`${through}/2015-03-31/functions/${name}/invocations`, {
    method: "POST",
    headers: { ...auth, "x-amz-log-type": "Tail", ...headers },
    body: typeof payload === "string" ? payload : JSON.stringify(payload),
  });
  const body = await response.text();
  const log = response.headers.get("x-amz-log-result");
  return {
    status: response.status,
    body,
    json: () => JSON.parse(body),
    functionError: response.headers.get("x-amz-function-error"),
    log: log ? Buffer.from(log, "base64").toString() : "",
    headers: response.headers,
  };
}

/** The function's instance containers on this engine. */
async function instanceContainers(functionId: string): Promise<string[]> {
  const out = await docker("ps", "-q", "--filter", `label=skiff.function=${functionId}`);
  return out.split("\n").filter(Boolean);
}

const nodeEcho = `exports.handler = async (event, context) => {
  console.log("handling", JSON.stringify(event));
  return { echo: event, requestId: context.awsRequestId, fn: context.functionName,
    memory: context.memoryLimitInMB, env: process.env.GREETING, pid: process.pid };
};
exports.fail = async () => { throw new TypeError("bad thing"); };
exports.slow = async (event) => { await new Promise((r) => setTimeout(r, event.ms)); return "late"; };
exports.hog = async () => { const keep = []; for (;;) keep.push(Buffer.alloc(16 * 1024 * 1024, 1)); };
exports.big = async () => "x".repeat(7 * 1024 * 1024);
`;

describe("a node function from a zip", () => {
  let echoId = "";
  beforeAll(async () => {
    ({ id: echoId } = await createFunction({
      name: "echo",
      runtime: "nodejs24.x",
      handler: "index.handler",
      memory: 256,
      environment: { GREETING: "hello" },
      code: { zipBase64: zipBase64({ "index.js": nodeEcho }) },
    }));
  });

  it("answers a synchronous invoke with its result, context and the log tail", async () => {
    const answer = await invoke("echo", { a: 1 });
    expect(answer.status, answer.body).toBe(200);
    expect(answer.functionError).toBeNull();
    const result = answer.json() as Record<string, unknown>;
    expect(result).toMatchObject({ echo: { a: 1 }, fn: "echo", memory: "256", env: "hello" });
    expect(answer.headers.get("x-amzn-requestid")).toBe(result.requestId);
    expect(answer.headers.get("x-amz-executed-version")).toBe("$LATEST");
    expect(answer.log).toContain(`START RequestId: ${result.requestId}`);
    expect(answer.log).toContain('handling {"a":1}');
    expect(answer.log).toMatch(
      /REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\tMax Memory Used: \d+ MB/,
    );
  });

  // The api's plain listener serves Invoke ahead of Hono: it must sign in, name requests and
  // answer bad input exactly as the rest of the API does.
  it("signs in, names the request and refuses bad input on the api's Invoke listener", async () => {
    const unsigned = await invoke("echo", {}, { authorization: "", "x-request-id": "mine-1" });
    expect(unsigned.status).toBe(401);
    expect(unsigned.headers.get("x-request-id")).toBe("mine-1");
    expect(unsigned.json()).toEqual({
      error: { code: "Unauthorized", message: expect.any(String), requestId: "mine-1" },
    });

    const created = await fetch(`${base}/v1/tokens`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ name: "reader", scopes: ["read"] }),
    });
    const { token: reader } = (await created.json()) as { token: string };
    const weak = await invoke("echo", {}, { authorization: `Bearer ${reader}` });
    expect(weak.status).toBe(403);
    expect((weak.json() as { error: { code: string } }).error.code).toBe("Forbidden");

    const unknown = await invoke("no-such-fn");
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("x-amzn-errortype")).toBe("ResourceNotFoundException");
    expect(unknown.json()).toMatchObject({
      Type: "User",
      message: expect.stringContaining("no-such-fn"),
    });

    const badJson = await invoke("echo", "{not json");
    expect(badJson.status).toBe(400);
    expect(badJson.headers.get("x-amzn-errortype")).toBe("InvalidRequestContentException");

    const dryRun = await invoke("echo", {}, { "x-amz-invocation-type": "DryRun" });
    expect(dryRun.status).toBe(204);

    const arn = encodeURIComponent("arn:aws:lambda:us-east-1:000000000000:function:echo");
    const byArn = await invoke(arn, { b: 2 });
    expect(byArn.status, byArn.body).toBe(200);
    expect(byArn.json()).toMatchObject({ echo: { b: 2 } });
    for (const [qualifier, status] of [
      ["%24LATEST", 200],
      ["7", 404],
    ] as const) {
      const answer = await fetch(
        `${base}/2015-03-31/functions/echo/invocations?Qualifier=${qualifier}`,
        { method: "POST", headers: auth, body: "{}" },
      );
      expect(answer.status, qualifier).toBe(status);
    }
  });

  it("runs the next invoke on the warm instance, without an init duration", async () => {
    const first = (await invoke("echo")).json() as { pid: number };
    const second = await invoke("echo");
    expect((second.json() as { pid: number }).pid).toBe(first.pid);
    expect(second.log).not.toContain("Init Duration");
  });

  it("routes a second api process to the same warm instance", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "skiff-functions-replica-"));
    let replica: SkiffProcess | undefined;
    try {
      replica = await startSkiffProcess(cwd, {
        DATABASE_URL: stack.databaseUrl,
        REDIS_URL: inject("redisUrl"),
        SKIFF_ADMIN_TOKEN: adminToken,
        SKIFF_LOCAL_AGENT: "false",
        SKIFF_REDIS_PREFIX: redisPrefix,
      });
      await waitForHealth(replica, 20_000);
      // Warmed through the first process just now: instances idle past 4 s are reaped here.
      const first = (await invoke("echo")).json() as { pid: number };
      const through = await invoke("echo", {}, {}, replica.baseUrl);
      expect(through.status, through.body).toBe(200);
      expect((through.json() as { pid: number }).pid).toBe(first.pid);
      expect(through.log).not.toContain("Init Duration");
    } finally {
      await replica?.stop();
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it("serves the instances' logs with their START, END and REPORT lines", async () => {
    const answer = await invoke("echo", { logged: runId });
    const requestId = answer.headers.get("x-amzn-requestid");
    const lines = await waitFor("the invocation's REPORT line in the logs", 10_000, async () => {
      const response = await fetch(`${base}/v1/functions/echo/logs?tail=200`, { headers: auth });
      const body = (await response.json()) as { lines: { text: string }[] };
      const text = body.lines.map((line) => line.text);
      return text.some((line) => line.startsWith(`REPORT RequestId: ${requestId}`))
        ? text
        : undefined;
    });
    expect(lines).toContain(`START RequestId: ${requestId} Version: $LATEST`);
    expect(lines.some((line) => line.includes(runId))).toBe(true);
    expect(lines).toContain(`END RequestId: ${requestId}`);
  });

  it("answers an error thrown by the handler in Lambda's shape", async () => {
    await createFunction({
      name: "fails",
      runtime: "nodejs24.x",
      handler: "index.fail",
      code: { zipBase64: zipBase64({ "index.js": nodeEcho }) },
    });
    const answer = await invoke("fails");
    expect(answer.status).toBe(200);
    expect(answer.functionError).toBe("Unhandled");
    expect(answer.json()).toMatchObject({ errorType: "TypeError", errorMessage: "bad thing" });
    expect((answer.json() as { stackTrace: unknown }).stackTrace).toBeInstanceOf(Array);
  });

  it("times out, answers Lambda's message, and replaces the instance", async () => {
    await createFunction({
      name: "slow",
      runtime: "nodejs24.x",
      handler: "index.slow",
      timeout: 1,
      code: { zipBase64: zipBase64({ "index.js": nodeEcho }) },
    });
    const late = await invoke("slow", { ms: 3000 });
    expect(late.status).toBe(200);
    expect(late.functionError).toBe("Unhandled");
    expect(late.body).toContain("Task timed out after 1.00 seconds");
    const quick = await invoke("slow", { ms: 1 });
    expect(quick.status, quick.body).toBe(200);
    expect(quick.json()).toBe("late");
  });

  it("answers Runtime.ExitError when the instance runs out of memory", async () => {
    await createFunction({
      name: "hog",
      runtime: "nodejs24.x",
      handler: "index.hog",
      memory: 128,
      timeout: 20,
      code: { zipBase64: zipBase64({ "index.js": nodeEcho }) },
    });
    const answer = await invoke("hog");
    expect(answer.status).toBe(200);
    expect(answer.functionError).toBe("Unhandled");
    expect(answer.json()).toMatchObject({ errorType: "Runtime.ExitError" });
  });

  it("refuses a request over 6 MB, and fails a response over 6 MB", async () => {
    const tooBig = await invoke("echo", { blob: "x".repeat(6 * 1024 * 1024 + 10) });
    expect(tooBig.status).toBe(413);
    expect(tooBig.headers.get("x-amzn-errortype")).toBe("RequestTooLargeException");
    await createFunction({
      name: "big",
      runtime: "nodejs24.x",
      handler: "index.big",
      memory: 512,
      code: { zipBase64: zipBase64({ "index.js": nodeEcho }) },
    });
    const big = await invoke("big");
    expect(big.status).toBe(200);
    expect(big.functionError).toBe("Unhandled");
    expect(big.json()).toMatchObject({ errorType: "Function.ResponseSizeTooLarge" });
  });

  it("throttles past the reserved concurrency with 429", async () => {
    await createFunction({
      name: "single",
      runtime: "nodejs24.x",
      handler: "index.slow",
      timeout: 10,
      reservedConcurrency: 1,
      code: { zipBase64: zipBase64({ "index.js": nodeEcho }) },
    });
    const [a, b] = await Promise.all([
      invoke("single", { ms: 4000 }),
      invoke("single", { ms: 4000 }),
    ]);
    const statuses = [a?.status, b?.status].sort();
    expect(statuses).toEqual([200, 429]);
    const throttled = a?.status === 429 ? a : b;
    expect(throttled?.headers.get("x-amzn-errortype")).toBe("TooManyRequestsException");
    expect(throttled?.json()).toMatchObject({
      Reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
    });
  });

  it("answers 404 ResourceNotFoundException for an unknown function", async () => {
    const answer = await invoke("no-such-function");
    expect(answer.status).toBe(404);
    expect(answer.headers.get("x-amzn-errortype")).toBe("ResourceNotFoundException");
  });

  it("reaps an instance idle longer than SKIFF_FUNCTION_IDLE_SECONDS", async () => {
    await invoke("echo");
    expect((await instanceContainers(echoId)).length).toBeGreaterThan(0);
    await waitFor("echo's instances reaped", (idleSeconds + 20) * 1000, async () =>
      (await instanceContainers(echoId)).length === 0 ? true : undefined,
    );
  });
});

describe("other runtimes", () => {
  it("runs an image with AWS's published runtime interface client, handler from its CMD", async () => {
    // scripts/build-runtime-images.sh: node:24-bookworm-slim, npm aws-lambda-ric as entrypoint,
    // CMD ["index.handler"], the code in /function (its working directory).
    await createFunction({
      name: "aws-ric",
      runtime: "image",
      timeout: 10,
      code: { image: "skiff-test/lambda-ric:nodejs24.x" },
    });
    const answer = await invoke("aws-ric", { n: 2 });
    expect(answer.status, answer.body).toBe(200);
    expect(answer.json()).toMatchObject({
      client: "aws-lambda-ric",
      functionName: "aws-ric",
      event: { n: 2 },
    });
    const failed = await invoke("aws-ric", { fail: "on purpose" });
    expect(failed.functionError).toBe("Unhandled");
    expect(failed.json()).toMatchObject({ errorType: "TypeError" });
  });

  it("runs an image whose entrypoint is a runtime client", async () => {
    const context = mkdtempSync(join(tmpdir(), "skiff-fn-image-"));
    try {
      mkdirSync(join(context, "task"));
      writeFileSync(
        join(context, "task", "app.js"),
        "exports.handler = async (event) => ({ fromImage: true, got: event });\n",
      );
      const client = resolve(import.meta.dirname, "../../../../runtimes/nodejs/index.cjs");
      writeFileSync(
        join(context, "client.cjs"),
        await import("node:fs/promises").then((fs) => fs.readFile(client)),
      );
      writeFileSync(
        join(context, "Dockerfile"),
        [
          "FROM node:24-bookworm-slim",
          "COPY client.cjs /opt/client.cjs",
          "COPY task/ /var/task/",
          "ENV _HANDLER=app.handler",
          'ENTRYPOINT ["node", "/opt/client.cjs"]',
        ].join("\n"),
      );
      await run("docker", ["build", "-q", "-t", imageTag, context]);
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
    await createFunction({ name: "imaged", runtime: "image", code: { image: imageTag } });
    const answer = await invoke("imaged", { n: 1 });
    expect(answer.status, answer.body).toBe(200);
    expect(answer.json()).toEqual({ fromImage: true, got: { n: 1 } });
  });

  it("runs a python handler", async () => {
    await createFunction({
      name: "py",
      runtime: "python3.11",
      handler: "app.handler",
      code: {
        zipBase64: zipBase64({
          "app.py":
            "def handler(event, context):\n    print('py got', event)\n    return {'sum': event['a'] + event['b'], 'fn': context.function_name}\n",
        }),
      },
    });
    const answer = await invoke("py", { a: 2, b: 3 });
    expect(answer.status, answer.body).toBe(200);
    expect(answer.json()).toEqual({ sum: 5, fn: "py" });
    expect(answer.log).toContain("py got");
  });

  it("runs a provided bootstrap written in sh", async () => {
    const bootstrap = `#!/bin/sh
set -eu
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  headers=$(mktemp)
  event=$(curl -sS -D "$headers" "$api/invocation/next")
  id=$(grep -i '^lambda-runtime-aws-request-id:' "$headers" | cut -d' ' -f2 | tr -d '\\r')
  echo "sh handled $id"
  curl -sS -X POST "$api/invocation/$id/response" -d "{\\"shell\\":true,\\"got\\":$event}" >/dev/null
done
`;
    await createFunction({
      name: "shell",
      runtime: "provided",
      code: { zipBase64: zipBase64({ bootstrap }, { bootstrap: 0o100755 }) },
    });
    const answer = await invoke("shell", { n: 7 });
    expect(answer.status, answer.body).toBe(200);
    expect(answer.json()).toEqual({ shell: true, got: { n: 7 } });
  });
});

describe("Event invocations", () => {
  it("runs an event once, and sends one whose attempts all fail to the dead letters", async () => {
    const ok = await invoke("echo", { async: true }, { "x-amz-invocation-type": "Event" });
    expect(ok.status).toBe(202);
    const okId = ok.headers.get("x-amzn-requestid");
    await createFunction({
      name: "fails-async",
      runtime: "nodejs24.x",
      handler: "index.fail",
      async: { maximumRetryAttempts: 1, maximumEventAgeSeconds: 60 },
      code: { zipBase64: zipBase64({ "index.js": nodeEcho }) },
    });
    const bad = await invoke("fails-async", { doomed: true }, { "x-amz-invocation-type": "Event" });
    expect(bad.status).toBe(202);
    const get = async (path: string) => {
      const response = await fetch(`${base}${path}`, { headers: auth });
      return (await response.json()) as { items: Record<string, unknown>[] };
    };
    await waitFor("the event succeeded", 20_000, async () => {
      const page = await get("/v1/functions/echo/invocations");
      return page.items.some((i) => i.requestId === okId && i.status === "succeeded")
        ? true
        : undefined;
    });
    const letter = await waitFor("the dead letter", 30_000, async () => {
      const page = await get("/v1/functions/fails-async/dead-letters");
      return page.items[0];
    });
    expect(letter).toMatchObject({ attempts: 2, errorType: "TypeError" });
    expect(JSON.parse(String(letter.payload))).toEqual({ doomed: true });
  });

  it("refuses an event over 256 KB", async () => {
    const answer = await invoke(
      "echo",
      { blob: "x".repeat(300 * 1024) },
      { "x-amz-invocation-type": "Event" },
    );
    expect(answer.status).toBe(413);
  });
});

describe("metering", () => {
  it("meters requests and GB-seconds per function, free under the free tier", async () => {
    const usage = await waitFor("echo's usage", 10_000, async () => {
      const response = await fetch(`${base}/v1/usage?groupBy=function`, { headers: auth });
      const body = (await response.json()) as { items?: Record<string, unknown>[] };
      return body.items?.find((item) => item.key === "echo" && item.launchType === "function");
    });
    expect(Number(usage.requests)).toBeGreaterThan(3);
    expect(Number(usage.gbSeconds)).toBeGreaterThan(0);
    // Well inside the monthly free tier (1M requests, 400,000 GB-s).
    expect(usage.cost).toBe(0);
  });
});
