"use strict";
// Skiff's runtime client for the nodejs* images: the Lambda Runtime API loop (next, then response
// or error) around the user's handler. CommonJS and node's http only, so the client itself costs
// the cold start as little as possible; the user's module is loaded as its own kind (ESM or CJS).
const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");
const { pathToFileURL } = require("node:url");
const util = require("node:util");

const [apiHost, apiPort] = splitHostPort(process.env.AWS_LAMBDA_RUNTIME_API || "127.0.0.1:9001");
const base = "/2018-06-01/runtime";
const taskRoot = process.env.LAMBDA_TASK_ROOT || "/var/task";
// One connection, kept alive: every invocation is a GET and a POST on the hot path. A free socket
// is unref'd by the agent, so it never keeps the event loop alive on its own.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** The request in flight, for the loggers and for uncaught errors. */
let current;

function splitHostPort(value) {
  const colon = value.lastIndexOf(":");
  return colon < 0 ? [value, 80] : [value.slice(0, colon), Number(value.slice(colon + 1))];
}

function call(method, pathname, body, headers, retried = false) {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: apiHost, port: apiPort, method, path: base + pathname, agent, headers },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode,
            headers: response.headers,
            body: Buffer.concat(chunks),
          }),
        );
        response.on("error", reject);
      },
    );
    request.on("error", (error) => {
      // A kept-alive socket the server closed meanwhile: node's advice is to retry once.
      if (request.reusedSocket && error.code === "ECONNRESET" && !retried)
        resolve(call(method, pathname, body, headers, true));
      else reject(error);
    });
    request.end(body);
  });
}

function post(pathname, value, errorType) {
  const body = Buffer.from(value);
  const headers = { "content-type": "application/json", "content-length": body.length };
  if (errorType) headers["lambda-runtime-function-error-type"] = errorType;
  return call("POST", pathname, body, headers);
}

/** Lambda's error document; stackTrace is the stack's lines after the first. */
function errorDocument(error, fallbackType) {
  if (error instanceof Error) {
    const stack = typeof error.stack === "string" ? error.stack.split("\n").slice(1) : [];
    return {
      errorType: fallbackType || error.name || "Error",
      errorMessage: error.message,
      stackTrace: stack.map((line) => line.trim()),
    };
  }
  if (error === undefined || error === null)
    return { errorType: fallbackType || "Error", errorMessage: String(error), stackTrace: [] };
  if (typeof error === "object") {
    const document = {
      errorType: fallbackType || error.errorType || error.name || "Error",
      errorMessage: error.errorMessage || error.message || safeJson(error),
      stackTrace: [],
    };
    return document;
  }
  return { errorType: fallbackType || typeof error, errorMessage: String(error), stackTrace: [] };
}

function safeJson(value) {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** Fails the init: AWS's runtime exits after init/error and the platform reports it. */
async function initFailed(error, type) {
  const document = errorDocument(error, type);
  process.stderr.write(
    `${new Date().toISOString()}\tundefined\tERROR\tUncaught Exception \t${JSON.stringify(document)}\n`,
  );
  await post("/init/error", JSON.stringify(document), document.errorType).catch(() => {});
  process.exit(129);
}

// console.* as Lambda's node runtime writes them: time, request id, level, message; one write
// per call so a multi-line message stays one record.
for (const [method, level] of [
  ["log", "INFO"],
  ["info", "INFO"],
  ["warn", "WARN"],
  ["error", "ERROR"],
  ["debug", "DEBUG"],
  ["trace", "TRACE"],
]) {
  const stream = level === "ERROR" || level === "WARN" ? process.stderr : process.stdout;
  console[method] = (...args) => {
    stream.write(
      `${new Date().toISOString()}\t${current ? current.id : "undefined"}\t${level}\t${util.format(...args)}\n`,
    );
  };
}

function moduleKind(file) {
  if (file.endsWith(".mjs")) return "esm";
  if (file.endsWith(".cjs")) return "cjs";
  // .js: the nearest package.json's "type", as node decides.
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    try {
      const type = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).type;
      return type === "module" ? "esm" : "cjs";
    } catch (error) {
      if (error.code !== "ENOENT" && !(error instanceof SyntaxError)) throw error;
    }
    if (dir === path.dirname(dir)) return "cjs";
  }
}

/** An init error of the runtime's own making: its stack would only show the client. */
function runtimeError(name, message) {
  const error = new Error(message);
  error.name = name;
  error.stack = `${name}: ${message}`;
  return error;
}

function importModuleError(message) {
  return runtimeError("Runtime.ImportModuleError", message);
}

/** `dir/file.export` (the export may be dotted: `file.a.b`) to the function. */
async function loadHandler(spec) {
  const slash = spec.lastIndexOf("/");
  const dot = spec.indexOf(".", slash + 1);
  if (dot < 0) throw runtimeError("Runtime.MalformedHandlerName", `Bad handler ${spec}`);
  const moduleName = spec.slice(0, dot);
  const exportPath = spec.slice(dot + 1).split(".");
  const stem = path.resolve(taskRoot, moduleName);
  const file = [".js", ".mjs", ".cjs"]
    .map((ext) => stem + ext)
    .find((candidate) => fs.existsSync(candidate));
  if (!file) throw importModuleError(`Error: Cannot find module '${moduleName}'`);
  let loaded;
  try {
    loaded = moduleKind(file) === "esm" ? await import(pathToFileURL(file).href) : require(file);
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw Object.assign(new Error(`${error.name}: ${error.message}`), {
        name: "Runtime.UserCodeSyntaxError",
        stack: error.stack,
      });
    }
    if (error && (error.code === "MODULE_NOT_FOUND" || error.code === "ERR_MODULE_NOT_FOUND")) {
      throw importModuleError(`Error: ${error.message.split("\n")[0]}`);
    }
    throw error;
  }
  // CommonJS imported as ESM keeps its exports on default; look there too.
  for (const root of [loaded, loaded?.default]) {
    let value = root;
    for (const key of exportPath) value = value == null ? undefined : value[key];
    if (typeof value === "function") return value;
  }
  throw runtimeError("Runtime.HandlerNotFound", `${spec} is undefined or not exported`);
}

function headerJson(value) {
  if (!value) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME;
const functionVersion = process.env.AWS_LAMBDA_FUNCTION_VERSION || "$LATEST";
const memoryLimitInMB = process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE;
const logGroupName = process.env.AWS_LAMBDA_LOG_GROUP_NAME;
const logStreamName = process.env.AWS_LAMBDA_LOG_STREAM_NAME;

function contextFor(headers, settle) {
  const deadline = Number(headers["lambda-runtime-deadline-ms"]);
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion,
    invokedFunctionArn: headers["lambda-runtime-invoked-function-arn"],
    memoryLimitInMB,
    awsRequestId: headers["lambda-runtime-aws-request-id"],
    logGroupName,
    logStreamName,
    identity: headerJson(headers["lambda-runtime-cognito-identity"]),
    clientContext: headerJson(headers["lambda-runtime-client-context"]),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    // The legacy completion methods some old handlers still call.
    done: (error, result) => settle(error, result, false),
    succeed: (result) => settle(null, result, false),
    fail: (error) => settle(error ?? "handled", undefined, false),
  };
  return context;
}

/** Runs one invocation; resolves when its outcome is posted. */
function invoke(handler, next) {
  const id = next.headers["lambda-runtime-aws-request-id"];
  const trace = next.headers["lambda-runtime-trace-id"];
  if (trace) process.env._X_AMZN_TRACE_ID = trace;
  else delete process.env._X_AMZN_TRACE_ID;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (error, result) => {
      const done =
        error !== null && error !== undefined
          ? (() => {
              const document = errorDocument(error);
              // As Lambda's node runtime: the error goes to the function's log too.
              process.stderr.write(
                `${new Date().toISOString()}\t${id}\tERROR\tInvoke Error \t${JSON.stringify(document)}\n`,
              );
              return post(`/invocation/${id}/error`, JSON.stringify(document), document.errorType);
            })()
          : post(
              `/invocation/${id}/response`,
              result === undefined ? "null" : JSON.stringify(result),
            );
      done.then(resolve, (postError) => {
        console.error("posting the outcome failed", postError);
        process.exit(1);
      });
    };
    const settle = (error, result, waitForLoop) => {
      if (settled) return;
      settled = true;
      // Callback style: Lambda answers once the event loop is empty unless the handler said
      // not to wait; `beforeExit` is node's "nothing left to do".
      if (waitForLoop && context.callbackWaitsForEmptyEventLoop)
        process.once("beforeExit", () => finish(error, result));
      else finish(error, result);
    };
    const context = contextFor(next.headers, settle);
    current = { id };
    let event;
    try {
      event = JSON.parse(next.body.length ? next.body.toString("utf8") : "null");
    } catch (error) {
      return settle(error, undefined, false);
    }
    try {
      const returned =
        handler.length >= 3
          ? handler(event, context, (error, result) => settle(error, result, true))
          : handler(event, context);
      if (returned && typeof returned.then === "function") {
        returned.then(
          (result) => settle(null, result, false),
          (error) => settle(error ?? "rejected", undefined, false),
        );
      } else if (handler.length < 3) {
        settle(null, returned, false);
      }
    } catch (error) {
      settle(error, undefined, false);
    }
  });
}

async function fatal(error, type) {
  const document = errorDocument(error, type);
  process.stderr.write(
    `${new Date().toISOString()}\t${current ? current.id : "undefined"}\tERROR\tUncaught Exception \t${JSON.stringify(document)}\n`,
  );
  const target = current ? `/invocation/${current.id}/error` : "/init/error";
  await post(target, JSON.stringify(document), document.errorType).catch(() => {});
  process.exit(129);
}

process.on("uncaughtException", (error) => void fatal(error));
process.on("unhandledRejection", (reason) => {
  // As Lambda's node runtime words it: the reason as text ("Error: boom"), its stack kept.
  const error = new Error(
    reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason),
  );
  error.stack = reason instanceof Error ? reason.stack : error.message;
  void fatal(error, "Runtime.UnhandledPromiseRejection");
});

async function main() {
  let handler;
  try {
    handler = await loadHandler(process.env._HANDLER || "index.handler");
  } catch (error) {
    return initFailed(error);
  }
  for (;;) {
    current = undefined;
    const next = await call("GET", "/invocation/next");
    if (next.status !== 200) {
      console.error(`runtime api: invocation/next answered ${next.status}`);
      process.exit(1);
    }
    await invoke(handler, next);
  }
}

main().catch((error) => {
  process.stderr.write(`runtime client: ${error?.stack ? error.stack : error}\n`);
  process.exit(1);
});
