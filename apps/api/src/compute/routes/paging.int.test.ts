import type { Page } from "@skiff/shared";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ProtocolAgent } from "../../test/fake-agent.js";
import { createTestStack, type TestStack } from "../../test/harness.js";

// Every list route pages the same way (`limit`, `cursor`, `nextCursor`), as the README says.
let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack();
  for (const name of ["pa", "pb", "pc", "pd", "pe"]) await stack.admin.createPool(name);
  for (let i = 0; i < 5; i++) await ProtocolAgent.join(stack, "pa");
  for (const family of ["fa", "fb", "fc", "fd", "fe"])
    await stack.admin.registerTaskDefinition({
      family,
      cpu: 256,
      memory: 256,
      containers: [{ name: "main", image: "skiff-test/busybox:latest" }],
    });
  for (const name of ["sa", "sb", "sc", "sd", "se"])
    await stack.admin.createService({
      name,
      taskDefinition: "fa",
      desiredCount: 0,
      launchType: "pool",
      pool: "pa",
    });
});
afterAll(() => stack.close());

/** Walks a list route two at a time; returns each page's keys. */
async function walk(path: string, key: string): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes("?") ? "&" : "?";
    const query = `limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const response = await stack.request(`${path}${separator}${query}`, {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    const page = JSON.parse(text) as Page<Record<string, string>>;
    expect(page.items.length, text).toBeLessThanOrEqual(2);
    pages.push(page.items.map((item) => String(item[key])));
    cursor = page.nextCursor;
    expect(pages.length, "a cursor that never ends").toBeLessThan(10);
  } while (cursor);
  return pages;
}

it.each([
  ["/v1/services", "name", ["sa", "sb", "sc", "sd", "se"]],
  ["/v1/pools", "name", ["default", "fargate", "pa", "pb", "pc", "pd", "pe"]],
  ["/v1/task-definitions", "family", ["fa", "fb", "fc", "fd", "fe"]],
])("pages %s by %s", async (path, key, expected) => {
  const pages = await walk(path, key);
  expect(pages.flat()).toEqual(expected);
  expect(pages.slice(0, -1).every((page) => page.length === 2)).toBe(true);
});

it("pages nodes oldest first, within a pool filter", async () => {
  const all = (await stack.admin.listNodesPage({ pool: "pa", limit: 500 })).items.map((n) => n.id);
  expect(all).toHaveLength(5);
  const pages = await walk("/v1/nodes?pool=pa", "id");
  expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
  expect(pages.flat()).toEqual(all);
});

it("answers a limit past the maximum with 400 naming it", async () => {
  for (const path of ["/v1/services", "/v1/nodes", "/v1/pools", "/v1/task-definitions"]) {
    const response = await stack.request(`${path}?limit=501`, {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    const text = await response.text();
    expect(response.status, `${path}: ${text}`).toBe(400);
    expect(text).toMatch(/limit/);
  }
});

it("the client's list methods still gather every page", async () => {
  expect((await stack.admin.listServices()).map((service) => service.name)).toEqual([
    "sa",
    "sb",
    "sc",
    "sd",
    "se",
  ]);
  expect(await stack.admin.listNodes({ pool: "pa" })).toHaveLength(5);
});
