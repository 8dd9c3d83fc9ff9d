import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RuntimeApi } from "./runtime-api.js";
import type { RuntimeEvent } from "./runtime-contract.js";

// The Runtime API over real HTTP on loopback: 127.0.0.1 is the one instance it knows.
let api: RuntimeApi;
let base = "";
const instance = "fni_test";

beforeEach(async () => {
  api = new RuntimeApi({
    identify: (address) => (address.endsWith("127.0.0.1") ? instance : undefined),
    port: 0,
    host: "127.0.0.1",
  });
  base = `http://127.0.0.1:${await api.listen()}/2018-06-01/runtime`;
});

afterEach(() => api.close());

const event = (requestId: string, payload = "{}"): RuntimeEvent => ({
  requestId,
  payload: Buffer.from(payload),
  deadlineMs: 1_900_000_000_000,
  functionArn: "arn:aws:lambda:us-east-1:000000000000:function:f",
  traceId: "Root=1-abc",
  clientContext: "e30=",
});

describe("the Runtime API", () => {
  it("holds /next until an event comes, with Lambda's headers, and takes the response", async () => {
    const next = fetch(`${base}/invocation/next`);
    await api.ready(instance);
    const answer = api.invoke(instance, event("req-1", '{"a":1}'));
    const got = await next;
    expect(got.status).toBe(200);
    expect(got.headers.get("lambda-runtime-aws-request-id")).toBe("req-1");
    expect(got.headers.get("lambda-runtime-deadline-ms")).toBe("1900000000000");
    expect(got.headers.get("lambda-runtime-invoked-function-arn")).toContain(":function:f");
    expect(got.headers.get("lambda-runtime-trace-id")).toBe("Root=1-abc");
    expect(got.headers.get("lambda-runtime-client-context")).toBe("e30=");
    expect(await got.text()).toBe('{"a":1}');
    const posted = await fetch(`${base}/invocation/req-1/response`, {
      method: "POST",
      body: '"done"',
    });
    expect(posted.status).toBe(202);
    expect(await answer).toEqual({ kind: "response", body: Buffer.from('"done"') });
  });

  it("gives an event queued before /next at the first /next", async () => {
    const answer = api.invoke(instance, event("req-2"));
    const got = await fetch(`${base}/invocation/next`);
    expect(got.headers.get("lambda-runtime-aws-request-id")).toBe("req-2");
    await fetch(`${base}/invocation/req-2/error`, {
      method: "POST",
      headers: { "lambda-runtime-function-error-type": "Runtime.Boom" },
      body: '{"errorMessage":"boom","errorType":"Error"}',
    });
    expect(await answer).toMatchObject({ kind: "error", errorType: "Runtime.Boom" });
    // AWS's own clients send no header: the document's errorType stands.
    const second = api.invoke(instance, event("req-2b"));
    await fetch(`${base}/invocation/next`);
    await fetch(`${base}/invocation/req-2b/error`, {
      method: "POST",
      body: '{"errorMessage":"boom","errorType":"TypeError"}',
    });
    expect(await second).toMatchObject({ kind: "error", errorType: "TypeError" });
  });

  it("refuses a response over 6 MB with 413 and fails the invocation as too large", async () => {
    const answer = api.invoke(instance, event("req-3"));
    await fetch(`${base}/invocation/next`);
    const posted = await fetch(`${base}/invocation/req-3/response`, {
      method: "POST",
      body: "x".repeat(6 * 1024 * 1024 + 1),
    });
    expect(posted.status).toBe(413);
    expect(await answer).toEqual({ kind: "too-large" });
  });

  it("answers an init error to the waiting and to every later invocation", async () => {
    const answer = api.invoke(instance, event("req-4"));
    const posted = await fetch(`${base}/init/error`, {
      method: "POST",
      headers: { "lambda-runtime-function-error-type": "Runtime.ImportModuleError" },
      body: '{"errorMessage":"no module","errorType":"Runtime.ImportModuleError"}',
    });
    expect(posted.status).toBe(202);
    expect(await answer).toMatchObject({
      kind: "init-error",
      errorType: "Runtime.ImportModuleError",
    });
    expect(await api.invoke(instance, event("req-5"))).toMatchObject({ kind: "init-error" });
  });

  it("answers 400 to an unknown request id and 404 to an unknown path", async () => {
    const unknown = await fetch(`${base}/invocation/nope/response`, { method: "POST", body: "1" });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ errorType: "InvalidRequestID" });
    expect((await fetch(`${base}/other`, { method: "POST" })).status).toBe(404);
  });

  it("refuses a caller that is no instance, and rejects what is in flight when forgotten", async () => {
    const stranger = new RuntimeApi({ identify: () => undefined, port: 0, host: "127.0.0.1" });
    const port = await stranger.listen();
    const refused = await fetch(`http://127.0.0.1:${port}/2018-06-01/runtime/invocation/next`);
    expect(refused.status).toBe(403);
    await stranger.close();
    const answer = api.invoke(instance, event("req-6"));
    api.forget(instance, new Error("stopped"));
    await expect(answer).rejects.toThrow("stopped");
  });
});
