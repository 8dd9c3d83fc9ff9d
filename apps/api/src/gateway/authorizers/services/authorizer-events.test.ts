import { IncomingMessage } from "node:http";
import { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { type EventRequest, eventV1, eventV2 } from "../../apis/services/lambda-events.js";
import { authorizerEvent } from "./lambda-authorizer.js";

function request(overrides: Partial<EventRequest> = {}): EventRequest {
  const req = new IncomingMessage(new Socket());
  req.method = "GET";
  req.httpVersion = "1.1";
  Object.defineProperty(req, "headersDistinct", { value: { "x-user": ["alice"] } });
  Object.defineProperty(req, "headers", { value: { "x-user": "alice" } });
  return {
    req,
    rawPath: "/orders/7",
    rawQueryString: "a=1",
    body: Buffer.from("secret body"),
    routeKey: "GET /orders/{id}",
    resource: "/orders/{id}",
    pathParameters: { id: "7" },
    apiId: "abcdefghij",
    accountId: "123456789012",
    requestId: "r1",
    domainName: "shop.example.com",
    apiKeyId: undefined,
    now: new Date(0),
    ...overrides,
  };
}

describe("what a function sees of the authorizer", () => {
  it("has JWT claims in requestContext.authorizer.jwt (2.0) and one level up in 1.0", () => {
    const authorizer = { jwt: { claims: { sub: "alice" }, scopes: ["read"] } };
    expect(eventV2(request({ authorizer })).requestContext).toMatchObject({ authorizer });
    expect(eventV1(request({ authorizer })).requestContext).toMatchObject({
      authorizer: { claims: { sub: "alice" }, scopes: ["read"] },
    });
    expect(eventV2(request()).requestContext).not.toHaveProperty("authorizer");
  });

  it("has a function authorizer's context in requestContext.authorizer.lambda", () => {
    const authorizer = { lambda: { user: "alice" } };
    expect(eventV2(request({ authorizer })).requestContext).toMatchObject({ authorizer });
    expect(eventV1(request({ authorizer })).requestContext).toMatchObject({
      authorizer: { user: "alice" },
    });
  });
});

describe("authorizerEvent", () => {
  it("is the 2.0 event without the body, with type, routeArn and identitySource", () => {
    const arn = "arn:aws:execute-api:us-east-1:123456789012:abcdefghij/$default/GET/orders/7";
    const event = authorizerEvent(request(), arn, ["alice"]);
    expect(event).toMatchObject({
      version: "2.0",
      type: "REQUEST",
      routeArn: arn,
      identitySource: ["alice"],
      routeKey: "GET /orders/{id}",
      rawPath: "/orders/7",
      rawQueryString: "a=1",
      headers: { "x-user": "alice" },
      queryStringParameters: { a: "1" },
      pathParameters: { id: "7" },
      requestContext: { apiId: "abcdefghij", routeKey: "GET /orders/{id}" },
    });
    expect(event).not.toHaveProperty("body");
    expect(event).not.toHaveProperty("isBase64Encoded");
  });
});
