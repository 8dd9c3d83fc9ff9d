import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Browser, openBrowser, screenshot } from "./browser.js";
import { type DashboardStack, startDashboardStack, testImage, waitFor } from "./stack.js";

// A user's path through the dashboard in a real browser, against the real all-in-one server and
// this host's Docker engine. The steps build on each other (one service, one page), in order.
const adminToken = "dashboard-admin-token-0123456789abcdef";
const stepTimeout = 150_000;

let stack: DashboardStack;
let browser: Browser;
let page: Page;
/** What the browser refused under the api's Content-Security-Policy, on any page of the run. */
const cspViolations: string[] = [];

beforeAll(async () => {
  stack = await startDashboardStack(adminToken);
  browser = await openBrowser();
  page = browser.page;
  page.setDefaultTimeout(30_000);
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

// A failed step leaves what the user saw and what the API said, to tell a UI bug from a slow host.
afterEach(async (context) => {
  if (context.task.result?.state !== "fail" || !page) return;
  const name = context.task.name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60);
  await screenshot(page, `failed-${name}`).catch(() => {});
  const services = await stack.client.listServices().catch((error) => String(error));
  const tasks = await stack.client.listTasks({ limit: 20 }).catch((error) => String(error));
  console.error(`after a failed step, at ${page.url()}:`, JSON.stringify({ services, tasks }));
});

/** Waits until `text` shows somewhere on the page. */
async function see(text: string | RegExp, timeout = 30_000) {
  await page.getByText(text).first().waitFor({ state: "visible", timeout });
}

async function openSection(label: string) {
  await page
    .getByRole("navigation", { name: "Sections" })
    .getByRole("link", { name: label })
    .click();
}

describe("the dashboard", () => {
  it("refuses a wrong token with the API's message, then signs in", async () => {
    await page.goto(`${stack.skiff.baseUrl}/`);
    await page.getByLabel("API token").fill("not-a-real-token-at-all");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "401" }).waitFor();
    await screenshot(page, "sign-in-refused");

    await page.getByLabel("API token").fill(adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await page.locator(".pool-capacity h3", { hasText: "default" }).waitFor();
    await see("No services yet.");
    await screenshot(page, "overview");
  });

  it("shows the API's validation error at the field, then registers a task definition", async () => {
    await openSection("Task definitions");
    await page.getByRole("link", { name: "Register a task definition" }).click();
    await page.locator('[data-path="family"] input').fill("web");
    await page.locator('[data-path="memory"] input').fill("lots");
    await page.locator('[data-path="containers.0.name"] input').fill("httpd");
    await page.locator('[data-path="containers.0.image"] input').fill(testImage);
    // The shell traps SIGTERM: httpd as pid 1 would ignore it and every stop take 30 s.
    await page
      .locator('[data-path="containers.0.command"] input')
      .fill(`sh -c 'echo hello-from-web; trap "exit 0" TERM; httpd -f -p 8080 -h /www & wait'`);
    await page.locator('[data-path="containers.0.portMappings"] input').fill("8080");
    await page.getByRole("button", { name: "Register" }).click();
    const memoryError = page.locator('[data-path="memory"] .field-error');
    await memoryError.waitFor();
    expect(await memoryError.textContent()).toBeTruthy();
    await screenshot(page, "task-definition-field-error");

    await page.locator('[data-path="memory"] input').fill("128");
    await page.getByRole("button", { name: "Register" }).click();
    await page.getByRole("heading", { name: "web:1" }).waitFor();
    expect(page.url()).toContain("/task-definitions/web?revision=1");
    await screenshot(page, "task-definition");
  });

  it(
    "creates a service and watches it reach running",
    async () => {
      await openSection("Services");
      await page.getByRole("link", { name: "Create a service" }).click();
      await page.locator('input[name="name"]').fill("web");
      await page.locator('input[name="taskDefinition"]').fill("web");
      await page.locator('input[name="desiredCount"]').fill("1");
      await page.locator('input[name="maximumPercent"]').fill("50");
      await page.getByRole("button", { name: "Create service" }).click();
      // The API refuses it naming deployment.maximumPercent: the message shows at that field.
      await page
        .locator("label", { has: page.locator('input[name="maximumPercent"]') })
        .locator(".field-error")
        .waitFor();
      await page.locator('input[name="maximumPercent"]').fill("");
      await page.getByRole("button", { name: "Create service" }).click();
      await page.getByRole("heading", { name: "Service web" }).waitFor();
      await page
        .getByTestId("running-count")
        .filter({ hasText: "1 of 1 desired" })
        .waitFor({ timeout: 90_000 });
      await screenshot(page, "service");
    },
    stepTimeout,
  );

  it(
    "scales the service and rolls out a new revision, watching the deployment",
    async () => {
      await page.locator('form input[name="desiredCount"]').fill("2");
      await page.getByRole("button", { name: "Scale" }).click();
      await page
        .getByTestId("running-count")
        .filter({ hasText: "2 of 2 desired" })
        .waitFor({ timeout: 90_000 });

      const definition = await stack.client.getTaskDefinition("web:1");
      const { family, containers, cpu, memory, compatibilities } = definition;
      await stack.client.registerTaskDefinition({
        family,
        containers,
        cpu,
        memory,
        compatibilities,
      });
      // The deploy form picks the new revision up on its next poll.
      await page
        .locator('select[name="revision"] option[value="2"]')
        .waitFor({ state: "attached", timeout: 20_000 });
      await page.locator('select[name="revision"]').selectOption("2");
      await page.getByRole("button", { name: "Deploy" }).click();
      const deployments = page.getByRole("list", { name: "Deployments" });
      await deployments
        .locator("li", { hasText: "web:2" })
        .filter({ hasText: "primary" })
        .waitFor();
      await screenshot(page, "service-deploying");
      await deployments
        .locator("li", { hasText: "web:2" })
        .filter({ hasText: "completed" })
        .waitFor({ timeout: 90_000 });
      const service = await stack.client.getService("web");
      expect(service.taskDefinition).toBe("web:2");
      expect(service.runningCount).toBe(2);
    },
    stepTimeout,
  );

  it("shows a running task's live logs", async () => {
    const running = await waitFor("a running task of web:2", 20_000, async () => {
      const page = await stack.client.listTasks({ service: "web", status: "running" });
      return page.items.find((task) => task.revision === 2);
    });
    await page.getByRole("link", { name: running.id }).click();
    await page.getByRole("heading", { name: "Task web:2" }).waitFor();
    await page
      .getByRole("log", { name: "Log lines" })
      .filter({ hasText: "hello-from-web" })
      .waitFor();
    await see("following live");
    await screenshot(page, "task");
  });

  it(
    "stops a task and shows why it stopped, its exit code, and the end of its log",
    async () => {
      await page.getByRole("button", { name: "Stop", exact: true }).click();
      await page
        .getByTestId("stop-reason")
        .filter({ hasText: "UserInitiated" })
        .waitFor({ timeout: 60_000 });
      // The shell's trap answers SIGTERM with exit 0.
      await page
        .locator("tbody tr", { hasText: "httpd" })
        .filter({ hasText: "stopped" })
        .waitFor({ timeout: 60_000 });
      expect(
        await page.locator("tbody tr", { hasText: "httpd" }).locator("td").nth(4).textContent(),
      ).toBe("0");
      await see("the log has ended");
      await screenshot(page, "task-stopped");
    },
    stepTimeout,
  );

  it(
    "filters tasks",
    async () => {
      await openSection("Tasks");
      await page.locator('select[name="status"]').selectOption("running");
      await page.locator('input[name="service"]').fill("web");
      await page.getByRole("button", { name: "Filter" }).click();
      await page.waitForURL(/\/tasks\?status=running&service=web$/);
      const rows = page.locator("tbody tr");
      // The task stopped above is replaced by the service first.
      await waitFor("two running rows", 60_000, async () =>
        (await rows.count()) === 2 ? true : undefined,
      );
      await screenshot(page, "tasks");
    },
    stepTimeout,
  );

  it("deletes the service after a confirmation", async () => {
    await page.goto(`${stack.skiff.baseUrl}/services/web`);
    await page.getByRole("button", { name: "Delete" }).click();
    await see("Delete web?");
    await page.getByRole("button", { name: "Yes, delete" }).click();
    await page.waitForURL(/\/services$/);
    await page.getByRole("heading", { name: "Services" }).waitFor();
    // Its tasks stop first; then the list (polled) no longer has it.
    await see("No services yet.", 30_000);
    await expect(stack.client.getService("web")).rejects.toThrow(/web/);
  });

  it("creates a join token with the agent's start command, and drains a node", async () => {
    await openSection("Pools & nodes");
    await page.getByRole("link", { name: "Join tokens for default" }).click();
    await page.getByRole("heading", { name: "Pool default" }).waitFor();
    // The defaults: one node, one day.
    await page
      .getByRole("form", { name: "New join token" })
      .getByRole("button", { name: "Create join token" })
      .click();
    const command = page.getByRole("region", { name: "Agent start command" }).locator("pre");
    await command.waitFor();
    expect(await command.textContent()).toMatch(
      new RegExp(
        `^SKIFF_API_URL=${stack.skiff.baseUrl} SKIFF_JOIN_TOKEN=\\S+ node apps/agent/dist/main.js$`,
      ),
    );
    await screenshot(page, "pool");
    // The dashboard's token admits one node by default: a leaked command lets no second one join.
    const [made] = await stack.client.listJoinTokens("default");
    expect(made).toMatchObject({ maxUses: 1, uses: 0, state: "active" });
    await openSection("Pools & nodes");

    const node = await stack.client.getNode(stack.nodeId);
    await page.getByRole("link", { name: node.name, exact: true }).click();
    await page.getByRole("heading", { name: /^Node / }).waitFor();
    await see("Usage");
    await page.getByRole("button", { name: "Drain", exact: true }).click();
    await page.getByRole("button", { name: "Draining" }).waitFor();
    expect((await stack.client.getNode(stack.nodeId)).state).toBe("draining");
    await screenshot(page, "node");
  });

  it("lists a pool's join tokens by prefix only, and revokes one after a confirmation", async () => {
    await openSection("Pools & nodes");
    await page.getByRole("link", { name: "default", exact: true }).click();
    await page.getByRole("heading", { name: "Pool default" }).waitFor();
    const form = page.getByRole("form", { name: "New join token" });
    await form.getByLabel("Nodes it admits").selectOption("some");
    await form.getByLabel("How many").fill("3");
    await form.getByLabel("Valid for").selectOption({ label: "1 hour" });
    await form.getByRole("button", { name: "Create join token" }).click();
    const command = page.getByRole("region", { name: "Agent start command" }).locator("pre");
    await page
      .getByRole("region", { name: "Join token" })
      .filter({ hasText: "up to 3 nodes" })
      .waitFor();
    const secret = /SKIFF_JOIN_TOKEN=(\S+)/.exec((await command.textContent()) ?? "")?.[1] ?? "";
    expect(secret).not.toBe("");

    const [made] = await stack.client.listJoinTokens("default");
    expect(made).toMatchObject({ maxUses: 3, uses: 0, state: "active" });
    const expiresIn = Date.parse(made?.expiresAt ?? "") - Date.now();
    expect(expiresIn).toBeGreaterThan(50 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(60 * 60_000);
    const row = page.locator(`tr[data-token-id="${made?.id}"]`);
    await row.filter({ hasText: `${secret.slice(0, 10)}…` }).waitFor();
    await row.getByRole("cell", { name: "0 / 3", exact: true }).waitFor();
    await row.locator(".badge", { hasText: "active" }).waitFor();
    // The list never has a secret: only the line that showed it once does.
    expect(await page.locator("table").first().textContent()).not.toContain(secret);
    await screenshot(page, "join-tokens");

    await row.getByRole("button", { name: "Revoke" }).click();
    await row
      .getByText(/^Revoke .*\?/)
      .first()
      .waitFor();
    await row.getByRole("button", { name: "Yes, revoke" }).click();
    await row.locator(".badge", { hasText: "revoked" }).waitFor();
    expect(await row.getByRole("button", { name: "Revoke" }).count()).toBe(0);
    const [after] = await stack.client.listJoinTokens("default");
    expect(after).toMatchObject({ id: made?.id, state: "revoked" });

    // An autoscaling group's token: any number of nodes, listed as unlimited.
    await form.getByLabel("Nodes it admits").selectOption("unlimited");
    await form.getByRole("button", { name: "Create join token" }).click();
    await page
      .getByRole("region", { name: "Join token" })
      .filter({ hasText: "any number of nodes" })
      .waitFor();
    const [group] = await stack.client.listJoinTokens("default");
    expect(group).toMatchObject({ maxUses: null, state: "active" });
    await page.locator(`tr[data-token-id="${group?.id}"]`).getByText("0 / unlimited").waitFor();
    await stack.client.revokeJoinToken("default", group?.id ?? "");
  });

  it("shows the registry page, or says the server has no registry", async () => {
    await openSection("Registry");
    await page
      .locator('[data-state="not-available"]')
      .or(page.getByRole("heading", { name: "Push an image" }))
      .first()
      .waitFor();
    expect(await page.getByRole("alert").count()).toBe(0);
    await screenshot(page, "registry");
  });

  it("creates a secret, sets a new value and deletes it, never showing a value", async () => {
    const first = "browser-first-value-41c7";
    const second = "browser-second-value-9d2e";
    await openSection("Secrets");
    const form = page.getByRole("form", { name: "New secret" });
    await form.getByLabel("Name").fill("browser-secret");
    await form.getByLabel("Value").fill(first);
    await form.getByRole("button", { name: "Create secret" }).click();
    const row = page.locator("tr", { hasText: "browser-secret" });
    await row.waitFor();
    await row.locator('input[type="password"]').fill(second);
    await row.getByRole("button", { name: "Set value" }).click();
    await waitFor("version 2", 10_000, async () =>
      (await stack.client.getSecret("browser-secret")).version === 2 ? true : undefined,
    );
    await row.getByRole("cell", { name: "2", exact: true }).waitFor();
    // Write-only: neither value is anywhere on the page, typed fields included.
    const html = await page.content();
    const typed = await page
      .locator("input")
      .evaluateAll((inputs) => inputs.map((input) => (input as HTMLInputElement).value).join(" "));
    for (const value of [first, second]) {
      expect(html).not.toContain(value);
      expect(typed).not.toContain(value);
    }
    await screenshot(page, "secrets");
    await row.getByRole("button", { name: "Delete", exact: true }).click();
    await row.getByRole("button", { name: "Yes, delete" }).click();
    await row.waitFor({ state: "detached" });
    await expect(stack.client.getSecret("browser-secret")).rejects.toThrow(/not found/);
  });

  it("fits a phone's width in dark mode, and the theme toggle forces light", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: "dark" });
    await page.goto(`${stack.skiff.baseUrl}/`);
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).toBe("rgb(13, 17, 23)");
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, "overview-phone-dark");
    // The pool's page too: its join token form wraps, its token table scrolls in its own box.
    await page.goto(`${stack.skiff.baseUrl}/pools/default`);
    await page.getByRole("heading", { name: "Pool default" }).waitFor();
    await page.locator("tr[data-token-id]").first().waitFor();
    expect(
      await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
    ).toBeLessThanOrEqual(0);
    await screenshot(page, "pool-phone-dark");
    await page.goto(`${stack.skiff.baseUrl}/`);
    await page.getByRole("heading", { name: "Overview" }).waitFor();

    await page.getByRole("button", { name: "Theme: system" }).click();
    await page.getByRole("button", { name: "Theme: light" }).waitFor();
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe(
      "rgb(246, 248, 250)",
    );
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("ends the session on a refused token with a clear sign-in screen", async () => {
    await page.evaluate(() =>
      sessionStorage.setItem("skiff.token", "revoked-token-0123456789abcdef"),
    );
    await page.reload();
    await page
      .getByRole("alert")
      .filter({ hasText: /^Signed out: .*401/ })
      .waitFor();
    await page.getByLabel("API token").waitFor();
    await screenshot(page, "signed-out");

    await page.getByLabel("API token").fill(adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API token").waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("skiff.token"))).toBeNull();
  });

  it("ran every step under the api's Content-Security-Policy without a violation", async () => {
    const response = await page.request.get(`${stack.skiff.baseUrl}/`);
    expect(response.headers()["content-security-policy"]).toContain("script-src 'self'");
    expect(cspViolations).toEqual([]);
  });
});
