import { createServer, type Server } from "node:http";
import { type CryptoKey, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../lib/logger.js";
import { call, listen, type ServedGateway, serveGateway } from "../../test/gateway.js";
import { createTestStack, type TestStack } from "../../test/harness.js";
import { ApiTable } from "../apis/services/api-table.js";

// /v1/apis/:api/authorizers against real PostgreSQL and Redis, and JWT authorizers in the
// gateway (served in-process) checking tokens signed here against a JWKS served by a local HTTP
// server. Claims seen by a real function and function (REQUEST) authorizers:
// e2e/gateway-authorizers.int.test.ts.
let stack: TestStack;
let table: ApiTable;
let gateway: ServedGateway;
const servers: Server[] = [];
let issuer = "";
let jwksUri = "";
let jwksFetches = 0;
let privateKey: CryptoKey;
let otherKey: CryptoKey;

beforeAll(async () => {
  stack = await createTestStack();
  table = new ApiTable(stack.services.db, stack.services.redis, createLogger("silent"), 60_000);
  await table.start();
  gateway = await serveGateway({
    targets: new Map(),
    domain: "skiff.test",
    logger: createLogger("silent"),
    apis: { table, functions: undefined, db: stack.services.db },
  });
  const pair = await generateKeyPair("RS256");
  privateKey = pair.privateKey;
  otherKey = (await generateKeyPair("RS256")).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  const idp = createServer((req, res) => {
    if (req.url === "/.well-known/jwks.json") jwksFetches++;
    res.setHeader("content-type", "application/json");
    if (req.url === "/.well-known/jwks.json") res.end(JSON.stringify({ keys: [jwk] }));
    else if (req.url === "/.well-known/openid-configuration")
      res.end(JSON.stringify({ issuer, jwks_uri: jwksUri }));
    else res.writeHead(404).end("{}");
  });
  servers.push(idp);
  issuer = `http://127.0.0.1:${await listen(idp)}`;
  jwksUri = `${issuer}/.well-known/jwks.json`;
  const upstream = createServer((req, res) => res.end(`upstream ${req.url}`));
  servers.push(upstream);
  const upstreamUrl = `http://127.0.0.1:${await listen(upstream)}`;

  expect((await api("POST", "/v1/apis", { name: "secure" })).status).toBe(201);
  const authorizer = await api("POST", "/v1/apis/secure/authorizers", {
    name: "idp",
    type: "JWT",
    jwt: { issuer, audience: ["skiff-test"], jwksUri },
  });
  expect(authorizer.status, authorizer.text).toBe(201);
  const discovered = await api("POST", "/v1/apis/secure/authorizers", {
    name: "discovered",
    type: "JWT",
    identitySource: "$request.querystring.token",
    jwt: { issuer, audience: ["skiff-test"] },
  });
  expect(discovered.status, discovered.text).toBe(201);
  for (const route of [
    { routeKey: "GET /open", target: { url: upstreamUrl } },
    {
      routeKey: "GET /private",
      target: { url: upstreamUrl },
      authorizationType: "JWT",
      authorizerId: authorizer.json.id,
    },
    {
      routeKey: "GET /admin",
      target: { url: upstreamUrl },
      authorizationType: "JWT",
      authorizerId: authorizer.json.id,
      authorizationScopes: ["admin", "root"],
    },
    {
      routeKey: "GET /query",
      target: { url: upstreamUrl },
      authorizationType: "JWT",
      authorizerId: discovered.json.id,
    },
  ]) {
    const created = await api("POST", "/v1/apis/secure/routes", route);
    expect(created.status, created.text).toBe(201);
  }
  await table.reload();
});
afterAll(async () => {
  await gateway?.close();
  await table?.stop();
  for (const server of servers) server.close();
  await stack?.close();
});

async function api(method: string, path: string, body?: unknown) {
  const response = await stack.request(path, {
    method,
    headers: {
      authorization: `Bearer ${stack.adminToken}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined, text };
}

async function token(
  claims: JWTPayload,
  options: { expiresIn?: string | number; key?: CryptoKey; iss?: string; aud?: string } = {},
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid: "k1" })
    .setIssuer(options.iss ?? issuer)
    .setAudience(options.aud ?? "skiff-test")
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? "5m")
    .sign(options.key ?? privateKey);
}

async function get(path: string, bearer?: string) {
  const answer = await call(gateway.port, "secure.skiff.test", path, {
    headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` },
  });
  return { status: answer.status, text: answer.body.toString() };
}

describe("a JWT authorizer in the gateway", () => {
  it("lets a valid token through and answers 401 {message} for a missing or bad one", async () => {
    expect(await get("/open")).toEqual({ status: 200, text: "upstream /" });
    const unauthorized = { status: 401, text: '{"message":"Unauthorized"}' };
    expect(await get("/private")).toEqual(unauthorized);
    const valid = await get("/private", await token({ sub: "alice" }));
    expect(valid.status, valid.text).toBe(200);
    expect(await get("/private", await token({ sub: "a" }, { expiresIn: "-1m" }))).toEqual(
      unauthorized,
    );
    expect(await get("/private", await token({ sub: "a" }, { aud: "someone-else" }))).toEqual(
      unauthorized,
    );
    expect(
      await get("/private", await token({ sub: "a" }, { iss: "http://127.0.0.1:1/evil" })),
    ).toEqual(unauthorized);
    expect(await get("/private", await token({ sub: "a" }, { key: otherKey }))).toEqual(
      unauthorized,
    );
    expect(await get("/private", "not-a-jwt")).toEqual(unauthorized);
    // The key set is fetched once, then served from jose's cache.
    expect(jwksFetches).toBe(1);
  });

  it("answers 403 {message} when the token has none of the route's scopes", async () => {
    const forbidden = { status: 403, text: '{"message":"Forbidden"}' };
    expect(await get("/admin", await token({ sub: "a" }))).toEqual(forbidden);
    expect(await get("/admin", await token({ sub: "a", scope: "read write" }))).toEqual(forbidden);
    expect((await get("/admin", await token({ sub: "a", scope: "read admin" }))).status).toBe(200);
    expect((await get("/admin", await token({ sub: "a", scp: ["root"] }))).status).toBe(200);
  });

  it("reads the token from a query parameter and finds the keys by OpenID discovery", async () => {
    expect((await get("/query")).status).toBe(401);
    const valid = await token({ sub: "q" });
    expect((await get(`/query?token=${valid}`)).status).toBe(200);
    expect((await get("/query?token=x.y.z")).status).toBe(401);
  });
});

describe("/v1/apis/:api/authorizers", () => {
  it("creates, lists, reads, changes and deletes an authorizer; a route in use keeps it", async () => {
    await api("POST", "/v1/apis", { name: "crud" });
    const created = await api("POST", "/v1/apis/crud/authorizers", {
      name: "first",
      type: "JWT",
      jwt: { issuer: "https://idp.example.com", audience: ["a"], jwksUri },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({
      name: "first",
      type: "JWT",
      identitySource: ["$request.header.Authorization"],
      jwt: { issuer: "https://idp.example.com", audience: ["a"], jwksUri },
      function: null,
    });
    const id = created.json.id as string;
    const duplicate = await api("POST", "/v1/apis/crud/authorizers", {
      name: "first",
      type: "JWT",
      jwt: { issuer: "https://x.example.com", audience: ["a"] },
    });
    expect(duplicate.status, duplicate.text).toBe(409);
    expect((await api("GET", "/v1/apis/crud/authorizers")).json.items).toHaveLength(1);
    expect((await api("GET", `/v1/apis/crud/authorizers/${id}`)).json.name).toBe("first");
    const patched = await api("PATCH", "/v1/apis/crud/authorizers/first", {
      name: "renamed",
      jwt: { issuer: "https://idp.example.com", audience: ["a", "b"], jwksUri },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json).toMatchObject({ name: "renamed", jwt: { audience: ["a", "b"] } });
    const wrongField = await api("PATCH", `/v1/apis/crud/authorizers/${id}`, {
      resultTtlInSeconds: 5,
    });
    expect(wrongField.status, wrongField.text).toBe(400);

    const route = await api("POST", "/v1/apis/crud/routes", {
      routeKey: "GET /x",
      target: { url: "http://example.com/" },
      authorizationType: "JWT",
      authorizerId: id,
      authorizationScopes: ["read"],
    });
    expect(route.status, route.text).toBe(201);
    expect(route.json).toMatchObject({
      authorizationType: "JWT",
      authorizerId: id,
      authorizationScopes: ["read"],
    });
    const inUse = await api("DELETE", `/v1/apis/crud/authorizers/${id}`);
    expect(inUse.status, inUse.text).toBe(409);
    const opened = await api("PATCH", `/v1/apis/crud/routes/${route.json.id}`, {
      authorizationType: "NONE",
    });
    expect(opened.json).toMatchObject({
      authorizationType: "NONE",
      authorizerId: null,
      authorizationScopes: null,
    });
    expect((await api("DELETE", `/v1/apis/crud/authorizers/${id}`)).status).toBe(200);
    expect((await api("GET", `/v1/apis/crud/authorizers/${id}`)).status).toBe(404);
  });

  it("refuses bad input with a 400 (404 for an unknown function) and creates nothing", async () => {
    await api("POST", "/v1/apis", { name: "strict" });
    const jwt = { issuer: "https://idp.example.com", audience: ["a"] };
    const cases: [unknown, number, RegExp][] = [
      [{ name: "x", type: "OAUTH", jwt }, 400, /type/],
      [{ name: "x", type: "JWT" }, 400, /jwt/],
      [{ name: "x", type: "JWT", jwt: { ...jwt, audience: [] } }, 400, /audience/],
      [{ name: "x", type: "JWT", jwt: { ...jwt, issuer: "idp" } }, 400, /issuer/],
      [{ name: "x", type: "JWT", jwt: { ...jwt, keys: { keys: "no" } } }, 400, /keys/],
      [
        { name: "x", type: "JWT", jwt: { ...jwt, jwksUri: "http://169.254.169.254/keys" } },
        400,
        /jwksUri: must not be a link-local/,
      ],
      [
        {
          name: "x",
          type: "REQUEST",
          function: "f",
          identitySource: ["$request.header.X"],
          enableSimpleResponses: "no",
        },
        400,
        /enableSimpleResponses/,
      ],
      [{ name: "x", type: "JWT", jwt, identitySource: "$request.body.token" }, 400, /identity/],
      [
        { name: "x", type: "JWT", jwt: { ...jwt, jwksUri, keys: { keys: [{ kty: "RSA" }] } } },
        400,
        /not both/,
      ],
      [{ name: "x", type: "REQUEST", function: "f", identitySource: [] }, 400, /identitySource/],
      [
        {
          name: "x",
          type: "REQUEST",
          function: "f",
          identitySource: ["$request.header.X"],
          resultTtlInSeconds: 3601,
        },
        400,
        /resultTtlInSeconds/,
      ],
      [
        { name: "x", type: "REQUEST", function: "nope", identitySource: ["$request.header.X"] },
        404,
        /function nope/,
      ],
    ];
    for (const [body, status, message] of cases) {
      const answer = await api("POST", "/v1/apis/strict/authorizers", body);
      expect(answer.status, answer.text).toBe(status);
      expect(answer.json.error.message).toMatch(message);
    }
    expect((await api("GET", "/v1/apis/strict/authorizers")).json.items).toEqual([]);

    const authorizer = await api("POST", "/v1/apis/strict/authorizers", {
      name: "ok",
      type: "JWT",
      jwt,
    });
    expect(authorizer.status, authorizer.text).toBe(201);
    const routes: [unknown, RegExp][] = [
      [{ authorizationType: "JWT" }, /needs an authorizerId/],
      [{ authorizationType: "JWT", authorizerId: "nothere123" }, /no authorizer/],
      [{ authorizationType: "CUSTOM", authorizerId: authorizer.json.id }, /REQUEST authorizer/],
      [{ authorizerId: authorizer.json.id }, /authorizerId needs/],
      [{ authorizationType: "OPEN" }, /authorizationType/],
    ];
    for (const [fields, message] of routes) {
      const answer = await api("POST", "/v1/apis/strict/routes", {
        routeKey: "GET /r",
        target: { url: "http://example.com/" },
        ...(fields as object),
      });
      expect(answer.status, answer.text).toBe(400);
      expect(answer.json.error.message).toMatch(message);
    }
    expect((await api("GET", "/v1/apis/strict/routes")).json.items).toEqual([]);
  });
});
