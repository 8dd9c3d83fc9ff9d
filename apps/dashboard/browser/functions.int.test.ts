import type { Page } from "playwright-core";
import postgres from "postgres";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeZip } from "../../api/src/test/zip.js";
import { type Browser, openBrowser, screenshot, signIn } from "./browser.js";
import { type DashboardStack, startDashboardStack, waitFor } from "./stack.js";

// The function pages in a real browser against the real all-in-one server (its local agent is
// the fargate node that runs instances). The steps build on each other, in order, on one function.
const adminToken = "dashboard-functions-token-0123456789abcdef";
const functionName = "dash-hello";
const secretName = "dash-fn-db-password";
// Never on any page: secrets are references in the dashboard.
const secretValue = "s3cret-value-the-page-must-never-show";

// A node handler that logs, greets and throws on request (an Unhandled function error).
const handler = `exports.handler = async (event) => {
  console.log("greeting", event.name);
  if (event.fail) throw new TypeError("asked to fail");
  return { greeting: "hello " + event.name, memory: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE };
};
`;

let stack: DashboardStack;
let browser: Browser;
let page: Page;
// Uncaught errors of the page (a render crash leaves it blank): none is allowed in any step, and
// a failed step prints them beside its screenshot.
const pageErrors: string[] = [];

beforeAll(async () => {
  stack = await startDashboardStack(adminToken);
  await stack.client.createSecret({ name: secretName, value: secretValue });
  browser = await openBrowser();
  page = browser.page;
  page.setDefaultTimeout(30_000);
  page.on("pageerror", (error) => pageErrors.push(error.stack ?? String(error)));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  // Deleting the function stops its instances; the stack's stop removes the node's containers.
  await stack?.client.deleteFunction(functionName).catch(() => {});
  await stack?.stop();
});

afterEach(async (context) => {
  if (context.task.result?.state !== "fail" || !page) {
    expect(pageErrors.splice(0)).toEqual([]);
    return;
  }
  const name = context.task.name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60);
  await screenshot(page, `failed-functions-${name}`).catch(() => {});
  const fn = await stack.client.getFunction(functionName).catch((error) => String(error));
  const errors = pageErrors.splice(0);
  console.error(`after a failed step, at ${page.url()}:`, JSON.stringify({ fn, errors }));
});

async function see(text: string | RegExp, timeout = 30_000) {
  await page.getByText(text).first().waitFor({ state: "visible", timeout });
}

async function openTab(name: string) {
  await page.getByRole("tab", { name }).click();
}

describe("the function pages", () => {
  it("refuses bad input at its field and creates nothing, then creates a function from a zip upload", async () => {
    await signIn(page, stack.skiff.baseUrl, adminToken);
    await page
      .getByRole("navigation", { name: "Sections" })
      .getByRole("link", { name: "Functions" })
      .click();
    await see("No functions yet.");
    await page.getByRole("link", { name: "Create a function" }).click();

    await page.locator('input[name="name"]').fill(functionName);
    await page.locator('input[name="memory"]').fill("64");
    await page.locator('input[name="codeZip"]').setInputFiles({
      name: "hello.zip",
      mimeType: "application/zip",
      buffer: makeZip([{ name: "index.js", data: handler }]),
    });
    await page.getByRole("button", { name: "Create function" }).click();
    // The API's own message, at the memory field.
    await page.locator("label", { hasText: "Memory" }).locator(".field-error").waitFor();
    expect((await stack.client.listFunctions()).items).toEqual([]);

    await page.locator('input[name="memory"]').fill("128");
    await page.getByRole("button", { name: "Create function" }).click();
    await page.getByRole("heading", { name: `Function ${functionName}` }).waitFor();
    const created = await stack.client.getFunction(functionName);
    expect(created.state).toBe("Active");
    expect(created.code?.sha256).toBeTruthy();
    await see(created.code?.sha256 ?? "");

    await page
      .getByRole("navigation", { name: "Sections" })
      .getByRole("link", { name: "Functions" })
      .click();
    const row = page.locator("tbody tr", { hasText: functionName });
    await row.waitFor();
    const cells = await row.locator("td").allTextContents();
    expect(cells.slice(0, 4)).toEqual([functionName, "nodejs22.x", "128 MiB", "3 s"]);
    expect(cells[5]).toBe("active");
    await screenshot(page, "functions");
  });

  it("edits the configuration; a secret stays a reference", async () => {
    await page.getByRole("link", { name: functionName }).click();
    await openTab("Configuration");
    const form = page.getByRole("form", { name: "Configuration" });
    await form.locator('input[name="memory"]').fill("256");
    await form.locator('input[name="timeout"]').fill("10");
    await form.locator('textarea[name="environment"]').fill("GREETING=hi\nMODE=test");
    await form.locator('textarea[name="secrets"]').fill(`DB_PASSWORD=${secretName}`);
    await form.locator('input[name="description"]').fill("says hello");
    await form.getByRole("button", { name: "Save configuration" }).click();
    await form.getByRole("status").filter({ hasText: "Saved" }).waitFor();

    const saved = await stack.client.getFunction(functionName);
    expect(saved).toMatchObject({
      memory: 256,
      timeout: 10,
      environment: { GREETING: "hi", MODE: "test" },
      secrets: [{ name: "DB_PASSWORD", valueFrom: secretName }],
      description: "says hello",
    });
    // The facts above the tabs follow the saved revision.
    await page
      .getByTestId("function-revision")
      .filter({ hasText: String(saved.revision) })
      .waitFor();
    await see("256 MiB");

    // A fresh load shows what the API holds, and nowhere the secret's value.
    await page.reload();
    await openTab("Configuration");
    await expect
      .poll(() =>
        page.locator('form[aria-label="Configuration"] input[name="memory"]').inputValue(),
      )
      .toBe("256");
    expect(await page.content()).not.toContain(secretValue);

    // A value the API refuses shows its message at the field and changes nothing.
    await form.locator('input[name="timeout"]').fill("901");
    await form.getByRole("button", { name: "Save configuration" }).click();
    await page.locator("label", { hasText: "Timeout" }).locator(".field-error").waitFor();
    expect((await stack.client.getFunction(functionName)).timeout).toBe(10);
    await screenshot(page, "function-configuration");
  });

  it("shows no Event invocations and no dead letters yet, from the API's lists", async () => {
    await openTab("Async");
    await see("No Event invocations yet.");
    await see("No dead letters.");
  });

  // Needs the invoke path (branch invoke), the agent's instances and the runtime images
  // (branches agent-fn, runtimes) in the tree under test.
  it("invokes from the Test section: the result, the duration and the log tail; an error with its type", async () => {
    await openTab("Test");
    await page.locator('textarea[name="payload"]').fill('{"name": "skiff"}');
    await page.getByRole("button", { name: "Invoke" }).click();
    const result = page.getByTestId("invocation-result");
    // A cold start pulls nothing (the runtime images are local) but starts a container. A call
    // that fails (no route, 401) shows its error instead: fail at once, saying it.
    await result.or(page.locator("p.error")).first().waitFor({ timeout: 90_000 });
    expect(
      await result.isVisible(),
      await page.locator("p.error").allTextContents().then(String),
    ).toBe(true);
    await result.getByText("succeeded").waitFor();
    expect(await page.getByTestId("invocation-payload").textContent()).toContain(
      '"greeting": "hello skiff"',
    );
    expect(await page.getByTestId("invocation-payload").textContent()).toContain('"256"');
    const tail = (await page.getByTestId("invocation-log-tail").textContent()) ?? "";
    expect(tail).toContain("START RequestId:");
    expect(tail).toMatch(/greeting\s+skiff|greeting skiff/);
    expect(tail).toContain("REPORT RequestId:");
    expect(await page.getByTestId("invocation-duration").textContent()).toMatch(
      /^[\d.]+ ms \(billed \d+ ms\)/,
    );
    await screenshot(page, "function-test");

    await page.locator('textarea[name="payload"]').fill('{"name": "x", "fail": true}');
    await page.getByRole("button", { name: "Invoke" }).click();
    await result.getByRole("alert").filter({ hasText: "TypeError: asked to fail" }).waitFor();
    expect(await page.getByTestId("invocation-payload").textContent()).toContain('"errorType"');

    // The instance's log, followed live on the Logs tab.
    await openTab("Logs");
    await page.getByRole("log", { name: "Log lines" }).getByText("asked to fail").first().waitFor();
    await openTab("Test");

    // The charts count the two invocations (one an error) once the minute's series has them.
    await openTab("Monitoring");
    await page.getByTestId("function-charts").waitFor();
    expect(await page.getByTestId("function-charts").getByRole("img").count()).toBe(4);
    await openTab("Test");

    // Not JSON: said at once, nothing sent.
    await page.locator('textarea[name="payload"]').fill("{not json");
    await page.getByRole("button", { name: "Invoke" }).click();
    await see(/The payload is not JSON/);
  }, 150_000);

  // Needs the Event queue (branch invoke) running in the api: it answers 503 without it.
  it("redrives a dead letter from the Async tab", async () => {
    // A dead letter as the Event path leaves one after its last attempt: written here, since
    // making one for real takes three failed attempts and their backoff.
    const fn = await stack.client.getFunction(functionName);
    const sql = postgres(stack.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      await sql`insert into function_dead_letters
        (id, function_id, request_id, payload, error, error_type, attempts, enqueued_at, failed_at)
        values (${"dl-dashboard-1"}, ${fn.id}, ${"dead-request-1"}, ${'{"name":"late"}'},
          ${"asked to fail"}, ${"TypeError"}, ${3}, now() - interval '5 minutes', now())`;
    } finally {
      await sql.end();
    }
    await openTab("Async");
    // Its row in the dead letters (the redriven event later shows under its request id too).
    const letter = page
      .locator("tbody tr", { hasText: "dead-request-1" })
      .filter({ hasText: "TypeError" });
    await letter.waitFor();
    expect(await letter.textContent()).toContain("TypeError: asked to fail");
    await letter.getByRole("button", { name: "Redrive" }).click();
    await letter.or(page.locator("p.error")).first().waitFor();
    await expect
      .poll(async () => (await page.locator("p.error").allTextContents()).join(" ") || "none")
      .toBe("none");
    await letter.waitFor({ state: "detached" });
    expect((await stack.client.listFunctionDeadLetters(functionName)).items).toEqual([]);
    await screenshot(page, "function-async");
  });

  it("deletes the function", async () => {
    await page.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("button", { name: "Yes, delete" }).click();
    await page.getByRole("heading", { name: "Functions" }).waitFor();
    await see("No functions yet.");
    await waitFor("the function deleted", 10_000, async () =>
      (await stack.client.listFunctions()).items.length === 0 ? true : undefined,
    );
  });

  it("creates a function from an image reference", async () => {
    await page.getByRole("link", { name: "Create a function" }).click();
    await page.locator('input[name="name"]').fill("dash-image");
    await page.locator('select[name="runtime"]').selectOption("image");
    // An image function has no handler: its entrypoint is the runtime client.
    expect(await page.locator('input[name="handler"]').count()).toBe(0);
    await page.locator('input[name="image"]').fill("localhost:5000/team/fn:1");
    await page.getByRole("button", { name: "Create function" }).click();
    await page.getByRole("heading", { name: "Function dash-image" }).waitFor();
    await see("localhost:5000/team/fn:1");
    const created = await stack.client.getFunction("dash-image");
    expect(created).toMatchObject({
      runtime: "image",
      code: { image: "localhost:5000/team/fn:1" },
    });
    await stack.client.deleteFunction("dash-image");
    await page
      .getByRole("navigation", { name: "Sections" })
      .getByRole("link", { name: "Functions" })
      .click();
    await see("No functions yet.");
  });

  it("lists past the first page of 100 on request", async () => {
    for (let index = 0; index < 101; index++)
      await stack.client.createFunction({ name: `page-fn-${index}`, runtime: "provided" });
    await page.reload();
    const rows = page.locator("tbody tr");
    await expect.poll(() => rows.count()).toBe(100);
    await page.getByRole("button", { name: "Load more" }).click();
    await expect.poll(() => rows.count()).toBe(101);
    await expect.poll(() => page.getByRole("button", { name: "Load more" }).count()).toBe(0);
    expect(await page.locator("tbody tr", { hasText: "pending" }).count()).toBe(101);
  }, 120_000);
});
