import { serviceGatewayUrl } from "@skiff/shared";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseEnv } from "../../env.js";
import { createTestStack, type TestStack } from "../../test/harness.js";
import { platformInfo } from "../services/info.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack();
  const env = parseEnv({
    SKIFF_DOMAIN: "apps.example.com",
    SKIFF_REGISTRY_ADDRESS: "registry.example.com:5000",
    SKIFF_FARGATE_PROVISIONER: "true",
  });
  stack.services.settings.platform = platformInfo(env);
  stack.services.settings.registryAddress = "registry.example.com:5000";
});
afterAll(() => stack.close());

it("answers the configured domain, gateway URL, registry and version to a read token", async () => {
  const { token } = await stack.admin.createToken({ name: "reader", scopes: ["read"] });
  const info = await stack.as(token).info();
  expect(info).toMatchObject({
    domain: "apps.example.com",
    gatewayPort: 8000,
    gatewayUrl: "http://{service}.apps.example.com:8000/",
    registryAddress: "registry.example.com:5000",
  });
  expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
  expect(info.features).toEqual(expect.arrayContaining(["gateway", "fargate-provisioner"]));
  expect(serviceGatewayUrl(info, "web")).toBe("http://web.apps.example.com:8000/");
});

it("answers a gateway URL template the operator set (a TLS proxy in front)", () => {
  const env = parseEnv({ SKIFF_GATEWAY_URL_TEMPLATE: "https://{service}.apps.example.com/" });
  expect(platformInfo(env).gatewayUrl).toBe("https://{service}.apps.example.com/");
  expect(() => parseEnv({ SKIFF_GATEWAY_URL_TEMPLATE: "https://apps.example.com/" })).toThrow(
    /SKIFF_GATEWAY_URL_TEMPLATE/,
  );
});

it("refuses a request without a token", async () => {
  const response = await stack.request("/v1/info");
  expect(response.status).toBe(401);
});
