import { describe, expect, it } from "vitest";
import { SkiffApiError, SkiffClient } from "./client.js";

/** A client whose fetch answers `response` and keeps what was sent. */
function clientAnswering(response: () => Response) {
  const sent: { url: string; init: RequestInit }[] = [];
  const client = new SkiffClient({
    baseUrl: "http://skiff.test",
    token: "skf_x",
    fetch: async (url, init) => {
      sent.push({ url, init });
      return response();
    },
  });
  return { client, sent };
}

describe("SkiffClient.invokeFunction", () => {
  it("sends the payload on Lambda's path and decodes the log tail (UTF-8)", async () => {
    const tail = "START RequestId: r1\nhéllo ✓\nREPORT RequestId: r1\tDuration: 1.5 ms\n";
    const { client, sent } = clientAnswering(
      () =>
        new Response('{"ok":true}', {
          headers: {
            "x-amzn-requestid": "r1",
            "x-amz-log-result": Buffer.from(tail).toString("base64"),
          },
        }),
    );
    const result = await client.invokeFunction("a/b", '{"x":1}', { logTail: true });
    expect(sent[0]?.url).toBe("http://skiff.test/2015-03-31/functions/a%2Fb/invocations");
    expect(sent[0]?.init.body).toBe('{"x":1}');
    expect(sent[0]?.init.headers).toMatchObject({
      authorization: "Bearer skf_x",
      "x-amz-log-type": "Tail",
      "x-amz-invocation-type": "RequestResponse",
    });
    expect(result).toMatchObject({
      status: 200,
      requestId: "r1",
      functionError: null,
      refused: null,
      payload: '{"ok":true}',
      logTail: tail,
    });
  });

  it("gives a function's error and Lambda's refusal as results", async () => {
    const failed = await clientAnswering(
      () =>
        new Response('{"errorType":"TypeError","errorMessage":"no"}', {
          headers: { "x-amz-function-error": "Unhandled" },
        }),
    ).client.invokeFunction("f", "{}");
    expect(failed.functionError).toBe("Unhandled");
    expect(failed.payload).toContain("TypeError");

    const throttled = await clientAnswering(
      () =>
        new Response('{"Type":"User","message":"Rate Exceeded.","Reason":"X"}', {
          status: 429,
          headers: { "x-amzn-errortype": "TooManyRequestsException" },
        }),
    ).client.invokeFunction("f", "{}");
    expect(throttled).toMatchObject({
      status: 429,
      refused: { type: "TooManyRequestsException", message: "Rate Exceeded." },
      payload: null,
    });
  });

  it("throws Skiff's own errors (a refused token)", async () => {
    const { client } = clientAnswering(() =>
      Response.json(
        { error: { code: "Unauthorized", message: "bad token", requestId: "q" } },
        { status: 401 },
      ),
    );
    await expect(client.invokeFunction("f", "{}")).rejects.toBeInstanceOf(SkiffApiError);
  });
});
