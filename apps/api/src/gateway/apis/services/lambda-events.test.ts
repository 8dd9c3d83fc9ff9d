import { IncomingMessage } from "node:http";
import { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import {
  type EventRequest,
  eventV1,
  eventV2,
  proxyResponse,
  requestTime,
} from "./lambda-events.js";

function request(rawHeaders: string[], overrides: Partial<EventRequest> = {}): EventRequest {
  const req = new IncomingMessage(new Socket());
  req.method = "POST";
  req.httpVersion = "1.1";
  // node:http's parser fills these; here from the raw pairs as it would.
  const distinct: Record<string, string[]> = {};
  const headers: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const value = rawHeaders[i + 1] as string;
    distinct[name] = [...(distinct[name] ?? []), value];
    headers[name] = headers[name] ? `${headers[name]}, ${value}` : value;
  }
  Object.defineProperty(req, "headersDistinct", { value: distinct });
  Object.defineProperty(req, "headers", { value: headers });
  return {
    req,
    rawPath: "/a/b",
    rawQueryString: "",
    body: Buffer.alloc(0),
    routeKey: "POST /a/{x}",
    resource: "/a/{x}",
    pathParameters: { x: "b" },
    apiId: "abc",
    accountId: "123456789012",
    requestId: "r1",
    domainName: "shop.example.com",
    apiKeyId: undefined,
    now: new Date(Date.UTC(2020, 2, 12, 19, 3, 58)),
    ...overrides,
  };
}

describe("Lambda proxy events", () => {
  it("2.0: repeated headers joined by commas, cookies out of the headers, no empty fields", () => {
    const event = eventV2(
      request(["Host", "shop.example.com", "X-Many", "1", "X-Many", "2", "Cookie", "a=1; b=2"]),
    );
    expect(event.headers).toMatchObject({ host: "shop.example.com", "x-many": "1,2" });
    expect((event.headers as Record<string, string>).cookie).toBeUndefined();
    expect(event.cookies).toEqual(["a=1", "b=2"]);
    // As the function receives it (JSON): empty fields left out.
    const sent = JSON.parse(JSON.stringify(event));
    expect(sent).not.toHaveProperty("body");
    expect(sent).not.toHaveProperty("queryStringParameters");
    expect((event.requestContext as { time: string }).time).toBe("12/Mar/2020:19:03:58 +0000");
  });

  it("1.0: the last value in headers, every value in multiValueHeaders, nulls when empty", () => {
    const event = eventV1(
      request(["X-Many", "1", "X-Many", "2"], { pathParameters: undefined, rawQueryString: "" }),
    );
    expect((event.headers as Record<string, string>)["x-many"]).toBe("2");
    expect((event.multiValueHeaders as Record<string, string[]>)["x-many"]).toEqual(["1", "2"]);
    expect(event).toMatchObject({
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      pathParameters: null,
      body: null,
    });
  });

  it("formats API Gateway's request time", () => {
    expect(requestTime(new Date(Date.UTC(2026, 0, 5, 1, 2, 3)))).toBe("05/Jan/2026:01:02:03 +0000");
  });
});

describe("function results as responses", () => {
  const result = (value: unknown) => Buffer.from(JSON.stringify(value));

  it("refuses what API Gateway answers 500 for", () => {
    expect(proxyResponse(Buffer.from("not json"), "2.0")).toBeUndefined();
    expect(proxyResponse(result({ statusCode: "abc" }), "2.0")).toBeUndefined();
    expect(proxyResponse(result({ statusCode: 99 }), "2.0")).toBeUndefined();
    expect(proxyResponse(result({ hello: 1 }), "1.0")).toBeUndefined();
    expect(proxyResponse(result("text"), "1.0")).toBeUndefined();
  });

  it("drops framing headers and header values that would split the response", () => {
    const response = proxyResponse(
      result({
        statusCode: 200,
        headers: { "Content-Length": "1", "X-Ok": 5, "X-Bad": "a\r\nInjected: 1", "bad name": "x" },
        body: "hello",
      }),
      "2.0",
    );
    expect(response?.headers).toEqual({ "x-ok": "5" });
    expect(response?.body.toString()).toBe("hello");
  });

  it("lets multiValueHeaders replace a header and 2.0 cookies become set-cookie lines", () => {
    const response = proxyResponse(
      result({
        statusCode: 302,
        headers: { location: "/x", "x-m": "0" },
        multiValueHeaders: { "X-M": ["1", "2"] },
        cookies: ["a=1", "b=2"],
      }),
      "2.0",
    );
    expect(response?.headers).toEqual({
      location: "/x",
      "x-m": ["1", "2"],
      "set-cookie": ["a=1", "b=2"],
    });
    expect(response?.body.length).toBe(0);
  });

  it("reads the 2.0 shorthand: JSON without statusCode is the body of a 200", () => {
    expect(proxyResponse(result([1, 2]), "2.0")?.body.toString()).toBe("[1,2]");
    expect(proxyResponse(result("hi"), "2.0")?.body.toString()).toBe("hi");
    expect(proxyResponse(result({ a: 1 }), "2.0")?.headers).toEqual({
      "content-type": "application/json",
    });
  });
});
