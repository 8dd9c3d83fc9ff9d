import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { connectEvent, disconnectEvent, messageEvent, selectRouteKey } from "./events.js";
import { checkRouteForProtocol, selectionExpressionProblem } from "./route-rules.js";

const facts = {
  apiId: "abc123",
  connectionId: "conn-1",
  connectedAt: 1_700_000_000_000,
  domainName: "chat.skiff.test",
  sourceIp: "10.0.0.1",
  userAgent: "ua/1",
};
const req = {
  url: "/?a=1&a=2&b=x",
  rawHeaders: ["Host", "chat.skiff.test", "X-Two", "1", "X-Two", "2"],
} as unknown as IncomingMessage;

describe("selectRouteKey", () => {
  const body = (value: unknown) => Buffer.from(JSON.stringify(value));
  it("reads the field the expression names, nested or not", () => {
    expect(selectRouteKey("$request.body.action", body({ action: "send" }), false)).toBe("send");
    expect(selectRouteKey("$request.body.m.type", body({ m: { type: 3 } }), false)).toBe("3");
  });
  it("selects nothing for binary, unparsable or missing fields", () => {
    expect(selectRouteKey("$request.body.action", body({ action: "send" }), true)).toBeUndefined();
    expect(selectRouteKey("$request.body.action", Buffer.from("hi"), false)).toBeUndefined();
    expect(selectRouteKey("$request.body.action", body({ other: 1 }), false)).toBeUndefined();
    expect(selectRouteKey("$request.body.action", body({ action: {} }), false)).toBeUndefined();
  });
});

describe("events", () => {
  it("builds $connect with headers and query, as API Gateway", () => {
    const event = connectEvent(req, facts, "req-1", new Date(Date.UTC(2026, 0, 2, 3, 4, 5)));
    expect(event).toMatchObject({
      headers: { Host: "chat.skiff.test", "X-Two": "1,2" },
      multiValueHeaders: { "X-Two": ["1", "2"] },
      queryStringParameters: { a: "2", b: "x" },
      multiValueQueryStringParameters: { a: ["1", "2"] },
      isBase64Encoded: false,
      requestContext: {
        routeKey: "$connect",
        eventType: "CONNECT",
        requestTime: "02/Jan/2026:03:04:05 +0000",
        connectionId: "conn-1",
        connectedAt: facts.connectedAt,
        apiId: "abc123",
        identity: { sourceIp: "10.0.0.1", userAgent: "ua/1" },
      },
    });
  });
  it("passes a binary message base64 and the close code to $disconnect", () => {
    const message = messageEvent(facts, "$default", Buffer.from([0, 255]), true, "r");
    expect(message).toMatchObject({ body: "AP8=", isBase64Encoded: true });
    expect(message.requestContext).toMatchObject({ eventType: "MESSAGE", messageId: "r" });
    const gone = disconnectEvent(req, facts, 1001, "Going away", "r");
    expect(gone.requestContext).toMatchObject({
      eventType: "DISCONNECT",
      disconnectStatusCode: 1001,
      disconnectReason: "Going away",
    });
  });
});

describe("route rules", () => {
  it("takes $request.body expressions only", () => {
    expect(selectionExpressionProblem("$request.body.action")).toBeUndefined();
    expect(selectionExpressionProblem("$request.header.x")).toBeDefined();
  });
  it("keeps WebSocket keys and non-function targets off the wrong protocol", () => {
    expect(() => checkRouteForProtocol("WEBSOCKET", "$connect", { service: "s" })).toThrow(
      /functions only/,
    );
    expect(() => checkRouteForProtocol("WEBSOCKET", "GET /x", undefined)).toThrow(/route key/);
    expect(() => checkRouteForProtocol("HTTP", "$connect", undefined)).toThrow(/routeKey/);
    expect(() =>
      checkRouteForProtocol("WEBSOCKET", "send", {
        function: "f",
        payloadFormatVersion: "2.0",
        timeoutMs: 1000,
      }),
    ).not.toThrow();
  });
});

describe("events of a connection a key and an authorizer let in", () => {
  it("carry the authorizer's context and the key in requestContext, as API Gateway's", () => {
    const admitted = {
      ...facts,
      authorizer: { user: "alice" },
      apiKey: "k-value",
      apiKeyId: "key_1",
    };
    for (const event of [
      connectEvent(req, admitted, "r1"),
      messageEvent(admitted, "$default", Buffer.from("x"), false, "r2"),
      disconnectEvent(req, admitted, 1000, "", "r3"),
    ])
      expect(event.requestContext).toMatchObject({
        authorizer: { user: "alice" },
        identity: { sourceIp: "10.0.0.1", apiKey: "k-value", apiKeyId: "key_1" },
      });
    const plain = messageEvent(facts, "$default", Buffer.from("x"), false, "r4").requestContext;
    expect(plain).not.toHaveProperty("authorizer");
    expect(plain.identity).toEqual({ sourceIp: "10.0.0.1", userAgent: "ua/1" });
  });
});
