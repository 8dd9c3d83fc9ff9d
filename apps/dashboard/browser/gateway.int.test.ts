import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { call } from "../../api/src/test/gateway.js";
import { freePort } from "../../api/src/test/process.js";
import { type Browser, openBrowser, screenshot, signIn } from "./browser.js";
import { type DashboardStack, startDashboardStack } from "./stack.js";

// The gateway's pages (APIs, API keys, usage plans) in a real browser against the real
// all-in-one server. The steps build on each other, in order.
const adminToken = "dashboard-gateway-token-0123456789abcdef";
const apiName = "dash-shop";
const keyName = "dash-partner";
const planName = "dash-gold";

let stack: DashboardStack;
let gatewayPort = 0;
/** The key's value as the page showed it once. */
let keyValue = "";
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  gatewayPort = await freePort();
  stack = await startDashboardStack(adminToken, { SKIFF_GATEWAY_PORT: String(gatewayPort) });
  browser = await openBrowser();
  page = browser.page;
  page.setDefaultTimeout(30_000);
  page.on("pageerror", (error) => pageErrors.push(error.stack ?? String(error)));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

afterEach(async (context) => {
  if (context.task.result?.state !== "fail" || !page) {
    expect(pageErrors.splice(0)).toEqual([]);
    return;
  }
  const name = context.task.name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60);
  await screenshot(page, `failed-gateway-${name}`).catch(() => {});
  console.error(`after a failed step, at ${page.url()}:`, JSON.stringify(pageErrors.splice(0)));
});

async function see(text: string | RegExp) {
  await page.getByText(text).first().waitFor({ state: "visible" });
}

async function openSection(name: string) {
  await page
    .getByRole("navigation", { name: "Sections" })
    .getByRole("link", { name, exact: true })
    .click();
}

describe("the gateway pages", () => {
  it("creates an API, shows its URL, and adds a route to a function", async () => {
    await signIn(page, stack.skiff.baseUrl, adminToken);
    await openSection("APIs");
    await see("No APIs yet.");
    const form = page.getByRole("form", { name: "New API" });
    await form.locator('input[name="name"]').fill(apiName);
    await form.getByRole("button", { name: "Create API" }).click();
    await page.getByRole("heading", { name: `API ${apiName}` }).waitFor();
    const api = await stack.client.getApi(apiName);
    await see(api.apiEndpoint);
    await see("No routes yet");

    const routeForm = page.getByRole("form", { name: "New route" });
    // A bad route key: the API's message on the page, and no route made.
    await routeForm.locator('input[name="routeKey"]').fill("FETCH /items");
    await routeForm.locator('input[name="target"]').fill("dash-items");
    await routeForm.getByRole("button", { name: "Add route" }).click();
    await see(/method must be one of/);
    expect((await stack.client.listApiRoutes(apiName)).items).toEqual([]);

    await routeForm.locator('input[name="routeKey"]').fill("GET /items/{id}");
    await routeForm.locator('select[name="targetKind"]').selectOption("function");
    await routeForm.locator('input[name="target"]').fill("dash-items");
    await routeForm.getByRole("button", { name: "Add route" }).click();
    const row = page.locator("tbody tr", { hasText: "GET /items/{id}" });
    await row.waitFor();
    expect(await row.locator("td").nth(1).textContent()).toBe("function dash-items");
    const routes = (await stack.client.listApiRoutes(apiName)).items;
    expect(routes.map((r) => [r.routeKey, r.target])).toEqual([
      [
        "GET /items/{id}",
        { function: "dash-items", payloadFormatVersion: "2.0", timeoutMs: 29_000 },
      ],
    ]);
    await screenshot(page, "api-detail");

    await openSection("APIs");
    await page.locator("tbody tr", { hasText: apiName }).waitFor();
  });

  it("creates an API key whose value is shown once, and disables it", async () => {
    await openSection("API keys");
    await see("No API keys yet.");
    const form = page.getByRole("form", { name: "New API key" });
    await form.locator('input[name="name"]').fill(keyName);
    await form.getByRole("button", { name: "Create API key" }).click();
    const shown = page.getByRole("region", { name: "The new key's value" }).locator("pre");
    await shown.waitFor();
    const value = (await shown.textContent()) ?? "";
    expect(value).toMatch(/^\S{20,}$/);
    const [key] = (await stack.client.listApiKeys()).items;
    expect(key?.name).toBe(keyName);
    expect(value.startsWith(key?.prefix ?? "-")).toBe(true);
    keyValue = value;
    await screenshot(page, "api-keys");

    // Once: another visit to the page has no value on it.
    await openSection("APIs");
    await openSection("API keys");
    const row = page.locator("tbody tr", { hasText: keyName });
    await row.waitFor();
    expect(await page.content()).not.toContain(value);

    await row.getByRole("button", { name: "Disable" }).click();
    await row.getByText("disabled").waitFor();
    expect((await stack.client.listApiKeys()).items[0]?.enabled).toBe(false);
    await row.getByRole("button", { name: "Enable" }).click();
    await row.getByText("enabled").waitFor();
  });

  it("creates a usage plan with a throttle and quota, attaches the key, and shows its requests", async () => {
    await openSection("Usage plans");
    await see("No usage plans yet.");
    const form = page.getByRole("form", { name: "New usage plan" });
    await form.locator('input[name="name"]').fill(planName);
    await form.locator('select[name="apiIds"] option', { hasText: apiName }).waitFor({
      state: "attached",
    });
    await form.locator('select[name="apiIds"]').selectOption({ label: apiName });
    await form.locator('input[name="rateLimit"]').fill("10");
    await form.locator('input[name="burstLimit"]').fill("20");
    await form.locator('input[name="quotaLimit"]').fill("1000");
    await form.locator('select[name="quotaPeriod"]').selectOption("MONTH");
    await form.getByRole("button", { name: "Create usage plan" }).click();
    const card = page.getByRole("region", { name: `Usage plan ${planName}` });
    await card.waitFor();
    await card.getByText("10 requests/s, bursts of 20").waitFor();
    await card.getByText("1000 requests per month").waitFor();
    const api = await stack.client.getApi(apiName);
    const [plan] = (await stack.client.listUsagePlans()).items;
    expect(plan).toMatchObject({
      name: planName,
      apiIds: [api.id],
      throttle: { rateLimit: 10, burstLimit: 20 },
      quota: { limit: 1000, period: "MONTH" },
    });

    const attach = card.getByRole("form", { name: `Attach a key to ${planName}` });
    await attach.locator('select[name="keyId"] option', { hasText: keyName }).waitFor({
      state: "attached",
    });
    await attach.locator('select[name="keyId"]').selectOption({ label: keyName });
    await attach.getByRole("button", { name: "Attach key" }).click();
    // .table-wrap: the page's tables, not uPlot's legend (also a table, of series names).
    const row = card.locator(".table-wrap tbody tr", { hasText: keyName });
    await row.waitFor();
    // No requests yet: today 0, the quota untouched, and the chart's empty state.
    await row.locator("td").nth(2).getByText("0", { exact: true }).waitFor();
    expect(await row.locator("td").nth(4).textContent()).toBe("0 / 1000 this month");
    await card.getByText("No requests in the last 30 days.").waitFor();
    const keys = (await stack.client.listUsagePlanKeys(plan?.id ?? "")).items;
    expect(keys.map((k) => k.name)).toEqual([keyName]);

    // Requests with the key through the gateway show as the key's usage on the page.
    await stack.client.createApiRoute(apiName, {
      routeKey: "GET /health",
      target: { url: `${stack.skiff.baseUrl}/v1/health` },
      apiKeyRequired: true,
    });
    const through = () =>
      call(gatewayPort, `${apiName}.localhost`, "/health", { headers: { "x-api-key": keyValue } });
    // The gateway learns of the route and the attachment by pub/sub: the first may be refused.
    const deadline = Date.now() + 15_000;
    let admitted = 0;
    while (admitted < 3) {
      const answer = await through();
      if (answer.status === 200) admitted++;
      else if (Date.now() > deadline) throw new Error(`gateway answered ${answer.status}`);
      else await new Promise((done) => setTimeout(done, 200));
    }
    await openSection("API keys");
    await openSection("Usage plans");
    const used = row.locator("td");
    await used.nth(2).getByText("3", { exact: true }).waitFor();
    expect(await used.nth(3).textContent()).toBe("3");
    expect(await used.nth(4).textContent()).toBe("3 / 1000 this month");
    // The chart, drawn (uPlot's canvas), and today's row of the per-day table under it.
    const today = new Date().toISOString().slice(0, 10);
    const chart = card.getByRole("img", { name: `${planName}: requests per day` });
    await chart.locator("canvas").first().waitFor();
    expect(await chart.textContent()).toContain(keyName);
    const byDay = card.getByRole("region", { name: `${planName}: requests per day, by day` });
    expect(await byDay.locator("thead th").allTextContents()).toEqual(["day (UTC)", keyName]);
    expect(await byDay.locator("tbody tr").allTextContents()).toEqual([`${today}3`]);
    await screenshot(page, "usage-plans");
  });

  it("shows an API key's requests per day across its plans", async () => {
    // From the plan's table, the key's name opens its page.
    await page
      .getByRole("region", { name: `Usage plan ${planName}` })
      .getByRole("link", { name: keyName })
      .click();
    await page.getByRole("heading", { name: `API key ${keyName}` }).waitFor();
    const usage = page.getByRole("region", { name: "Usage" });
    const row = usage.locator(".table-wrap tbody tr", { hasText: planName });
    await row.waitFor();
    expect(await row.locator("td").allTextContents()).toEqual([
      planName,
      "3",
      "3",
      "3 / 1000 this month",
    ]);
    const chart = usage.getByRole("img", { name: `${keyName}: requests per day` });
    await chart.locator("canvas").first().waitFor();
    expect(await chart.textContent()).toContain(planName);
    const today = new Date().toISOString().slice(0, 10);
    const byDay = usage.getByRole("region", { name: `${keyName}: requests per day, by day` });
    expect(await byDay.locator("tbody tr").allTextContents()).toEqual([`${today}3`]);
    await screenshot(page, "api-key-detail");

    // A key in no plan says so; an unknown key shows the API's refusal, as other pages do.
    const lone = await stack.client.createApiKey({ name: "dash-lone" });
    await page.goto(`${stack.skiff.baseUrl}/api-keys/${lone.id}`);
    await page.getByRole("heading", { name: "API key dash-lone" }).waitFor();
    await see("In no usage plan");
    await page.goto(`${stack.skiff.baseUrl}/api-keys/no-such-key`);
    await page.getByRole("alert").first().waitFor();
    expect(await page.getByRole("alert").first().textContent()).toMatch(/not found|no-such-key/i);
  });
});
