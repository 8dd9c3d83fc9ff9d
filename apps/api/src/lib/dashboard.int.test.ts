import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ErrorBody } from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestStack, type TestStack } from "../test/harness.js";

let dir: string;
let stack: TestStack;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "skiff-dashboard-"));
  mkdirSync(join(dir, "assets"));
  writeFileSync(join(dir, "index.html"), "<!doctype html><title>Skiff</title>");
  writeFileSync(join(dir, "assets", "index-abc.js"), "console.log(1)");
  writeFileSync(join(tmpdir(), "skiff-outside.txt"), "secret");
  stack = await createTestStack({ dashboardDir: dir });
});

afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the built dashboard", () => {
  it("is served at / and for the app's own routes, with its assets", async () => {
    for (const path of ["/", "/services/web", "/registry/team%2Fweb"]) {
      const response = await stack.request(path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("content-type")).toContain("text/html");
      expect(await response.text()).toContain("<title>Skiff</title>");
    }
    const asset = await stack.request("/assets/index-abc.js");
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toContain("text/javascript");
    expect(asset.headers.get("cache-control")).toContain("immutable");
  });

  it("sends its pages and assets with a strict CSP, no framing, nosniff and no referrer", async () => {
    for (const path of ["/", "/services/web", "/assets/index-abc.js"]) {
      const response = await stack.request(path);
      expect(response.status, path).toBe(200);
      const csp = response.headers.get("content-security-policy") ?? "";
      expect(csp, path).toContain("default-src 'self'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("style-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).not.toContain("unsafe");
      expect(response.headers.get("x-frame-options"), path).toBe("DENY");
      expect(response.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(response.headers.get("referrer-policy"), path).toBe("no-referrer");
    }
  });

  it("leaves /v1 to the API: an unknown route is the JSON 404", async () => {
    const response = await stack.request("/v1/nope");
    const body = (await response.json()) as ErrorBody;
    expect(response.status).toBe(404);
    expect(body.error.code).toBe("NotFound");
    expect((await stack.request("/v1/health")).status).toBe(200);
  });

  it("answers 404 for a missing asset and never reads outside its folder", async () => {
    expect((await stack.request("/assets/gone.js")).status).toBe(404);
    const outside = await stack.request("/..%2Fskiff-outside.txt");
    expect(await outside.text()).not.toContain("secret");
  });
});

it("answers / with the JSON 404 when no dashboard is built", async () => {
  const bare = await createTestStack({ dashboardDir: join(dir, "missing") });
  const response = await bare.request("/");
  await bare.close();
  expect(response.status).toBe(404);
  expect(((await response.json()) as ErrorBody).error.code).toBe("NotFound");
});
