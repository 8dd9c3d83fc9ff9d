import { randomBytes } from "node:crypto";
import { zipSync } from "fflate";
import { type CryptoKey, exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../lib/embedded-redis.js";
import { type AllInOne, startAllInOne } from "../test/all-in-one.js";
import { call } from "../test/gateway.js";
import { waitFor } from "../test/wait.js";

// Authorizers end to end: the all-in-one's gateway in front of one real node function
// (skiff/lambda:nodejs24.x) that is both the routes' target (it echoes what it is told of the
// caller) and the REQUEST authorizer (it allows anyone but "mallory").
const adminToken = "e2e-gateway-authorizers-token-01234";
const runId = randomBytes(4).toString("hex");
const issuer = "https://idp.skiff.test";

let stack: AllInOne;
let gatewayPort = 0;
let privateKey: CryptoKey;

/** An authorizer event has type REQUEST and a routeArn; anything else is a request to echo. */
const handler = `const instance = Math.random().toString(36).slice(2);
let calls = 0;
exports.handler = async (event) => {
  if (event.type === "REQUEST" && event.routeArn) {
    calls++;
    const who = event.identitySource[0];
    if (who === "policy") return {
      principalId: "p",
      policyDocument: { Version: "2012-10-17", Statement: [{ Action: "execute-api:Invoke",
        Effect: "Allow", Resource: "arn:aws:execute-api:*:*:*/$default/GET/policy/1" }] },
      context: { via: "policy" },
    };
    if (who === "boom") throw new Error("authorizer failure");
    return {
      isAuthorized: who !== "mallory",
      context: { user: who, decision: instance + "-" + calls, routeArn: event.routeArn,
        rawPath: event.rawPath, routeKey: event.routeKey, hasBody: "body" in event },
    };
  }
  return { statusCode: 200, headers: { "content-type": "application/json" },
    body: JSON.stringify(event.requestContext.authorizer ?? null) };
};`;

const api = (method: string, path: string, body?: unknown) => stack.call(method, path, body);

async function get(path: string, headers: Record<string, string> = {}) {
  const answer = await call(gatewayPort, "guarded.skiff.test", path, { headers });
  const text = answer.body.toString();
  return { status: answer.status, text, json: () => JSON.parse(text) };
}

beforeAll(async () => {
  gatewayPort = await freePort();
  stack = await startAllInOne("gwauth", adminToken, {
    SKIFF_GATEWAY_PORT: String(gatewayPort),
    SKIFF_DOMAIN: "skiff.test",
    SKIFF_REDIS_PREFIX: `test:gwauth-${runId}:`,
  });
  const zip = Buffer.from(zipSync({ "index.js": Buffer.from(handler) })).toString("base64");
  const fn = await api("POST", "/v1/functions", {
    name: "guard",
    runtime: "nodejs24.x",
    handler: "index.handler",
    memory: 128,
    code: { zipBase64: zip },
  });
  expect(fn.status, fn.text).toBe(201);
  const pair = await generateKeyPair("RS256");
  privateKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "e2e", alg: "RS256" };
  expect((await api("POST", "/v1/apis", { name: "guarded" })).status).toBe(201);
  const jwt = await api("POST", "/v1/apis/guarded/authorizers", {
    name: "tokens",
    type: "JWT",
    jwt: { issuer, audience: ["guarded"], keys: { keys: [jwk] } },
  });
  expect(jwt.status, jwt.text).toBe(201);
  const lambda = await api("POST", "/v1/apis/guarded/authorizers", {
    name: "guard",
    type: "REQUEST",
    function: "guard",
    identitySource: ["$request.header.x-user"],
    resultTtlInSeconds: 300,
  });
  expect(lambda.status, lambda.text).toBe(201);
  expect(lambda.json).toMatchObject({ payloadFormatVersion: "2.0", enableSimpleResponses: true });
  const policy = await api("POST", "/v1/apis/guarded/authorizers", {
    name: "policy",
    type: "REQUEST",
    function: "guard",
    identitySource: ["$request.header.x-mode"],
    resultTtlInSeconds: 0,
    enableSimpleResponses: false,
  });
  expect(policy.status, policy.text).toBe(201);
  for (const route of [
    {
      routeKey: "GET /jwt",
      target: { function: "guard" },
      authorizationType: "JWT",
      authorizerId: jwt.json.id,
      authorizationScopes: ["orders:read"],
    },
    {
      routeKey: "GET /lambda/{id}",
      target: { function: "guard" },
      authorizationType: "CUSTOM",
      authorizerId: lambda.json.id,
    },
    {
      routeKey: "GET /policy/{id}",
      target: { function: "guard" },
      authorizationType: "CUSTOM",
      authorizerId: policy.json.id,
    },
  ]) {
    const created = await api("POST", "/v1/apis/guarded/routes", route);
    expect(created.status, created.text).toBe(201);
  }
  // Every route, not only the first: the gateway may reload between two of the creations.
  await waitFor("the API's routes on the gateway", 10_000, async () => {
    for (const path of ["/jwt", "/lambda/1", "/policy/1"]) {
      const answer = await call(gatewayPort, "guarded.skiff.test", path).catch(() => undefined);
      if (answer?.status !== 401) return undefined;
    }
    return true;
  });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

describe("a JWT authorizer before a function", () => {
  it("hands the function the token's claims and scopes", async () => {
    const token = await new SignJWT({ sub: "alice", scope: "orders:read profile", tier: "gold" })
      .setProtectedHeader({ alg: "RS256", kid: "e2e" })
      .setIssuer(issuer)
      .setAudience("guarded")
      .setExpirationTime("5m")
      .sign(privateKey);
    const answer = await get("/jwt", { authorization: `Bearer ${token}` });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json()).toMatchObject({
      jwt: {
        claims: { sub: "alice", tier: "gold", iss: issuer, aud: "guarded" },
        scopes: ["orders:read", "profile"],
      },
    });
  }, 60_000);
});

describe("a function (REQUEST) authorizer", () => {
  it("allows, denies, caches its decision per identity and passes its context on", async () => {
    expect(await get("/lambda/1")).toMatchObject({
      status: 401,
      text: '{"message":"Unauthorized"}',
    });
    const first = await get("/lambda/1?q=1", { "x-user": "alice" });
    expect(first.status, first.text).toBe(200);
    const context = first.json().lambda;
    expect(context).toMatchObject({
      user: "alice",
      rawPath: "/lambda/1",
      routeKey: "GET /lambda/{id}",
      hasBody: false,
    });
    expect(context.routeArn).toMatch(
      /^arn:aws:execute-api:[^:]+:\d{12}:[a-z0-9]{10}\/\$default\/GET\/lambda\/1$/,
    );
    // Within the TTL the same identity is not asked again: the same decision comes back.
    const second = await get("/lambda/2", { "x-user": "alice" });
    expect(second.status, second.text).toBe(200);
    expect(second.json().lambda.decision).toBe(context.decision);
    // Another identity is asked: a new decision.
    const bob = await get("/lambda/1", { "x-user": "bob" });
    expect(bob.json().lambda).toMatchObject({ user: "bob" });
    expect(bob.json().lambda.decision).not.toBe(context.decision);

    expect(await get("/lambda/1", { "x-user": "mallory" })).toMatchObject({
      status: 403,
      text: '{"message":"Forbidden"}',
    });
    expect(await get("/lambda/1", { "x-user": "boom" })).toMatchObject({
      status: 500,
      text: '{"message":"Internal Server Error"}',
    });
  }, 60_000);
});

describe("a function authorizer answering IAM policies", () => {
  it("allows the routes the policy's Allow covers and refuses the others", async () => {
    const allowed = await get("/policy/1", { "x-mode": "policy" });
    expect(allowed.status, allowed.text).toBe(200);
    expect(allowed.json()).toEqual({ lambda: { via: "policy" } });
    expect((await get("/policy/2", { "x-mode": "policy" })).status).toBe(403);
  }, 60_000);
});
