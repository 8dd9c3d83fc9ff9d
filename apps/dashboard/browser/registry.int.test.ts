import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort } from "../../api/src/test/process.js";
import { type Browser, openBrowser, screenshot, signIn } from "./browser.js";
import { type DashboardStack, docker, startDashboardStack, testImage, waitFor } from "./stack.js";

// The built-in registry (GET /v1/registry, /v2 behind `docker login`) on a free port: docker
// treats any localhost port as a plain-HTTP registry.
const adminToken = "dashboard-registry-token-0123456789abcdef";
// A name with a slash: the dashboard must carry it as one encoded path segment.
const repository = "dashboard-e2e/web";

let stack: DashboardStack;
let browser: Browser;
let page: Page;
let image = "";

beforeAll(async () => {
  stack = await startDashboardStack(adminToken, { SKIFF_REGISTRY_PORT: String(await freePort()) });
  const { address } = await stack.client.registryInfo();
  image = `${address}/${repository}:v1`;
  await docker("login", address, "-u", "skiff", "-p", adminToken);
  await docker("tag", testImage, image);
  await docker("push", image);
  browser = await openBrowser();
  page = browser.page;
  page.setDefaultTimeout(30_000);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (image) await docker("rmi", image).catch(() => {});
  await stack?.stop();
});

it("shows a pushed image's tag with its digest and size, and deletes it", async () => {
  await signIn(page, stack.skiff.baseUrl, adminToken);
  await page
    .getByRole("navigation", { name: "Sections" })
    .getByRole("link", { name: "Registry" })
    .click();
  await page.getByRole("region", { name: "Registry commands" }).getByText("docker login").waitFor();
  await page.getByRole("link", { name: repository }).click();
  expect(page.url()).toContain(`/registry/${encodeURIComponent(repository)}`);

  const row = page.locator("tbody tr", { hasText: "v1" });
  await row.waitFor();
  const pushed = (await stack.client.listImageTags(repository)).find((tag) => tag.tag === "v1");
  expect(pushed, "the API lists the pushed tag").toBeDefined();
  expect(await row.textContent()).toContain(pushed?.digest);
  await screenshot(page, "registry-repository");

  await row.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("button", { name: "Yes, delete" }).click();
  await row.waitFor({ state: "detached" });
  const left = await waitFor("the tag deleted", 10_000, async () => {
    const tags = await stack.client.listImageTags(repository);
    return tags.some((tag) => tag.tag === "v1") ? undefined : tags;
  });
  expect(left.map((tag) => tag.tag)).not.toContain("v1");
}, 90_000);
