import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Service, SkiffClient, serviceSchema } from "@skiff/shared";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { createTestDatabase } from "../test/harness.js";
import { freePort, type SkiffProcess, startSkiffProcess, waitForHealth } from "../test/process.js";

// A rolling deployment under steady load through the gateway: the all-in-one process (api,
// gateway, local agent on this host's Docker engine), real containers, zero failed requests.
const run = promisify(execFile);
const adminToken = "e2e-rolling-token-0123456789abcdef";
const name = `roll-${Math.random().toString(36).slice(2, 8)}`;

let skiff: SkiffProcess;
let client: SkiffClient;
let gatewayUrl = "";
let cwd = "";
let dropDatabase: (() => Promise<void>) | undefined;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDatabase = database.drop;
  cwd = mkdtempSync(join(tmpdir(), "skiff-rolling-"));
  const gatewayPort = await freePort();
  gatewayUrl = `http://127.0.0.1:${gatewayPort}/_/services/${name}/`;
  skiff = await startSkiffProcess(cwd, {
    DATABASE_URL: database.url,
    REDIS_URL: inject("redisUrl"),
    SKIFF_ADMIN_TOKEN: adminToken,
    SKIFF_LOCAL_AGENT: "true",
    SKIFF_GATEWAY_PORT: String(gatewayPort),
  });
  await waitForHealth(skiff, 15_000);
  client = new SkiffClient({ baseUrl: skiff.baseUrl, token: adminToken });
});

afterAll(async () => {
  await skiff?.end();
  const ids = (
    await run("docker", ["ps", "-aq", "--filter", `label=skiff.service=${name}`])
  ).stdout.trim();
  if (ids) await run("docker", ["rm", "-f", ...ids.split("\n")]).catch(() => {});
  await dropDatabase?.();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

const getService = () => client.request("GET", `/v1/services/${name}`, serviceSchema);

async function until(
  what: string,
  timeoutMs: number,
  check: (service: Service) => boolean,
): Promise<Service> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const service = await getService();
    if (check(service)) return service;
    if (Date.now() > deadline)
      throw new Error(`${what}: ${JSON.stringify(service)}\n${skiff.output().slice(-3000)}`);
    await new Promise((done) => setTimeout(done, 250));
  }
}

const revision = (page: string) => ({
  family: name,
  cpu: 128,
  memory: 64,
  containers: [
    {
      name: "web",
      image: "skiff-test/busybox:latest",
      // Each revision serves its own page, so the test sees the rollout happen.
      command: ["sh", "-c", `echo ${page} > /tmp/index.html && exec httpd -f -p 8080 -h /tmp`],
      portMappings: [{ containerPort: 8080 }],
    },
  ],
});

it("rolls a new revision under load with no failed request", async () => {
  await client.registerTaskDefinition(revision("one"));
  await client.request("POST", "/v1/services", serviceSchema, {
    name,
    taskDefinition: name,
    desiredCount: 2,
    loadBalancer: { containerName: "web", containerPort: 8080 },
  });
  await until(
    "steady on revision 1",
    30_000,
    (s) => s.runningCount === 2 && s.deployments[0]?.rolloutState === "completed",
  );
  await expect.poll(async () => (await fetch(gatewayUrl)).status, { timeout: 10_000 }).toBe(200);

  let stop = false;
  const failures: string[] = [];
  const pages = new Set<string>();
  let requests = 0;
  const load = (async () => {
    while (!stop) {
      requests++;
      try {
        const response = await fetch(gatewayUrl, { signal: AbortSignal.timeout(5_000) });
        const text = (await response.text()).trim();
        if (response.status !== 200) failures.push(`${response.status} ${text}`);
        else pages.add(text);
      } catch (error) {
        failures.push(String(error));
      }
    }
  })();

  await client.registerTaskDefinition(revision("two"));
  await client.request("PATCH", `/v1/services/${name}`, serviceSchema, {
    taskDefinition: `${name}:2`,
  });
  await until(
    "steady on revision 2",
    60_000,
    (s) =>
      s.taskDefinition === `${name}:2` &&
      s.deployments.length === 1 &&
      s.deployments[0]?.rolloutState === "completed" &&
      s.runningCount === 2,
  );
  // Let the old tasks' drains end and their containers stop while the load goes on.
  await new Promise((done) => setTimeout(done, 5_000));
  stop = true;
  await load;

  // The figure the README quotes.
  console.info(`rolling deploy under load: ${requests} requests, ${failures.length} failed`);
  expect(failures, failures.slice(0, 5).join("\n")).toEqual([]);
  expect(requests).toBeGreaterThan(50);
  expect(pages).toEqual(new Set(["one", "two"]));
  expect((await (await fetch(gatewayUrl)).text()).trim()).toBe("two");
});
