import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SkiffClient } from "@skiff/shared";
import { zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, removeNodeLeftovers } from "./test/docker-cli.js";
import { freePort } from "./test/process.js";

// Brings the repository's docker-compose.yml up for real (images built from the repo's own
// Dockerfiles) and checks what a user of `docker compose up -d` would.
const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const project = `skifftest${randomBytes(4).toString("hex")}`;
let port = 0;
let gatewayPort = 0;
let registryPort = 0;
/** SKIFF_ADMIN_TOKEN as if set in .env; empty until the agent test sets it. */
let adminTokenSetting = "";
const configuredAdminToken = `compose-admin-${randomBytes(16).toString("hex")}`;

/** Runs compose (v2 plugin or v1 docker-compose) on this test's project; rejects on failure. */
async function compose(...args: string[]): Promise<string> {
  const command = (await hasComposeV2()) ? ["docker", "compose"] : ["docker-compose"];
  const [file, ...rest] = command as [string, ...string[]];
  // stdin must be closed: docker-compose 1.29's `up` never exits while it is an open pipe.
  const child = spawn(file, [...rest, "-p", project, ...args], {
    cwd: repoRoot,
    env: {
      ...process.env,
      SKIFF_API_PORT: String(port),
      SKIFF_GATEWAY_PORT: String(gatewayPort),
      SKIFF_REGISTRY_PORT: String(registryPort),
      SKIFF_REGISTRY_ADDRESS: `127.0.0.1:${registryPort}`,
      SKIFF_API_PUBLIC_URL: `http://127.0.0.1:${port}`,
      SKIFF_ADMIN_TOKEN: adminTokenSetting,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  // Wait for exit, not close: a process docker-compose leaves behind can hold its stdout open.
  const code = await new Promise<number | null>((done) => child.once("exit", done));
  await new Promise((done) => setTimeout(done, 100));
  if (code !== 0)
    throw new Error(`compose ${args.join(" ")} exited ${code}:\n${output.slice(-4000)}`);
  return output;
}

let composeV2: boolean | undefined;
async function hasComposeV2(): Promise<boolean> {
  composeV2 ??= await run("docker", ["compose", "version"]).then(
    () => true,
    () => false,
  );
  return composeV2;
}

async function waitForHealth(baseUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // A timeout per try: docker's port proxy can accept a connection before the api listens.
    const ok = await fetch(`${baseUrl}/v1/health`, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((done) => setTimeout(done, 500));
  }
  throw new Error(
    `no healthy api at ${baseUrl} within ${timeoutMs} ms:\n${await compose("logs", "--tail", "50")}`,
  );
}

const adminTokenLine = /skf_[A-Za-z0-9_-]{43}/g;
/** The agents' nodes, whose task containers and networks the test removes at the end. */
const nodeIds: string[] = [];

describe("docker compose up -d", () => {
  let baseUrl = "";
  beforeAll(async () => {
    port = await freePort();
    gatewayPort = await freePort();
    registryPort = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    await compose("up", "-d", "--build");
    await waitForHealth(baseUrl, 180_000);
  });
  afterAll(async () => {
    // Task containers (and fargate networks, with their fence rules) belong to the host's
    // engine, not to the compose project: `down -v` leaves them.
    const { stdout } = await run("docker", ["ps", "-aq", "--filter", "label=skiff.service=hello"]);
    if (stdout.trim())
      await run("docker", ["rm", "-f", ...stdout.trim().split("\n")]).catch(() => {});
    for (const nodeId of nodeIds) await removeNodeLeftovers(nodeId).catch(() => {});
    await compose("down", "-v", "--remove-orphans").catch(() => {});
  });

  it("serves the api, prints the first admin token once, and it works", async () => {
    const logs = await compose("logs", "--no-color", "api");
    const tokens = logs.match(adminTokenLine) ?? [];
    expect(new Set(tokens).size, logs).toBe(1);
    const admin = new SkiffClient({ baseUrl, token: tokens[0] });
    expect((await admin.whoami()).scopes).toEqual(["admin"]);
    const created = await admin.createToken({ name: "through-compose", scopes: ["read"] });
    expect((await admin.withToken(created.token).whoami()).name).toBe("through-compose");
    await expect(new SkiffClient({ baseUrl }).whoami()).rejects.toMatchObject({ status: 401 });
  });

  it("keeps its data in postgres across an api restart, printing no new token", async () => {
    const before = (await compose("logs", "--no-color", "api")).match(adminTokenLine) ?? [];
    const admin = new SkiffClient({ baseUrl, token: before[0] });
    await compose("restart", "api");
    await waitForHealth(baseUrl, 60_000);
    expect((await admin.whoami()).scopes).toEqual(["admin"]);
    const after = (await compose("logs", "--no-color", "api")).match(adminTokenLine) ?? [];
    expect(new Set(after)).toEqual(new Set(before));
  });

  it("runs the api as a non-root user, reported healthy by its healthcheck", async () => {
    const id = (await compose("ps", "-q", "api")).trim().split("\n")[0] ?? "";
    const { stdout: user } = await run("docker", ["exec", id, "id", "-u"]);
    expect(user.trim()).not.toBe("0");
    let health = "";
    for (let i = 0; i < 60 && health !== "healthy"; i++) {
      health = (
        await run("docker", ["inspect", "-f", "{{.State.Health.Status}}", id])
      ).stdout.trim();
      if (health !== "healthy") await new Promise((done) => setTimeout(done, 1000));
    }
    expect(health).toBe("healthy");
  });

  it("serves the registry as its own service: skopeo pushes and pulls with a Skiff token", async () => {
    const token = ((await compose("logs", "--no-color", "api")).match(adminTokenLine) ?? [])[0];
    const registry = `127.0.0.1:${registryPort}`;
    let status = 0;
    for (let i = 0; i < 60 && status !== 401; i++) {
      status = await fetch(`http://${registry}/v2/`).then(
        (response) => response.status,
        () => 0,
      );
      if (status !== 401) await new Promise((done) => setTimeout(done, 1000));
    }
    expect(status).toBe(401);
    const image = `docker://${registry}/compose/busybox:v1`;
    await run("skopeo", [
      "copy",
      "--dest-tls-verify=false",
      "--dest-creds",
      `ci:${token}`,
      "docker-daemon:skiff-test/busybox:latest",
      image,
    ]);
    const { stdout } = await run("skopeo", [
      "inspect",
      "--tls-verify=false",
      "--creds",
      `ci:${token}`,
      image,
    ]);
    expect(JSON.parse(stdout).Layers.length).toBeGreaterThan(0);
    const id = (await compose("ps", "-q", "registry")).trim().split("\n")[0] ?? "";
    const { stdout: user } = await run("docker", ["exec", id, "id", "-u"]);
    expect(user.trim()).not.toBe("0");
  });

  it("runs the agents: they say what to set without an admin token, and join pools default and fargate with one, splitting the host", async () => {
    let agentLogs = "";
    for (let i = 0; i < 60 && !agentLogs.includes("SKIFF_JOIN_TOKEN"); i++) {
      await new Promise((done) => setTimeout(done, 1000));
      agentLogs = await compose("logs", "--no-color", "agent");
    }
    expect(agentLogs).toMatch(/no SKIFF_JOIN_TOKEN.*SKIFF_ADMIN_TOKEN/);

    // What `docker compose up -d` does once .env sets SKIFF_ADMIN_TOKEN.
    adminTokenSetting = configuredAdminToken;
    await compose("up", "-d");
    await waitForHealth(baseUrl, 60_000);
    const admin = new SkiffClient({ baseUrl, token: configuredAdminToken });
    let nodes = await admin.listNodes();
    for (let i = 0; i < 90 && nodes.length < 2; i++) {
      await new Promise((done) => setTimeout(done, 1000));
      nodes = await admin.listNodes();
    }
    const logs = await compose("logs", "--no-color", "--tail", "30", "agent", "agent-fargate");
    expect(nodes, logs).toHaveLength(2);
    nodeIds.push(...nodes.map((node) => node.id));
    const pool = nodes.find((node) => node.pool === "default");
    const fargate = nodes.find((node) => node.pool === "fargate");
    expect(pool, logs).toMatchObject({ state: "active" });
    expect(fargate, logs).toMatchObject({ state: "active" });
    // SKIFF_LOCAL_FARGATE_SHARE's 0.5: the two halves of the host, never the whole host twice.
    const { stdout: cpus } = await run("docker", ["info", "--format", "{{.NCPU}}"]);
    expect((pool?.capacity.cpu ?? 0) + (fargate?.capacity.cpu ?? 0)).toBe(Number(cpus) * 1024);
    expect(fargate?.capacity.cpu).toBe(Number(cpus) * 512);
  });

  it("runs a fargate task, fenced in: the api's published port is out of its reach", async () => {
    const admin = new SkiffClient({ baseUrl, token: configuredAdminToken });
    await admin.registerTaskDefinition({
      family: "compose-fargate",
      cpu: 256,
      memory: 512,
      compatibilities: ["fargate"],
      containers: [{ name: "main", image: "skiff-test/busybox:latest", command: ["sleep", "300"] }],
    });
    const [started] = await admin.runTask({
      taskDefinition: "compose-fargate",
      launchType: "fargate",
    });
    let task = await admin.getTask(started?.id ?? "");
    for (let i = 0; i < 60 && task.status !== "running" && task.status !== "stopped"; i++) {
      await new Promise((done) => setTimeout(done, 1000));
      task = await admin.getTask(task.id);
    }
    const logs = await compose("logs", "--no-color", "--tail", "30", "agent-fargate");
    expect(task, logs).toMatchObject({ status: "running", pool: "fargate" });

    // The host at its address on the task's network: the api's port is published there too.
    const container = task.containers[0]?.containerId ?? "";
    const host = await docker(
      "inspect",
      "--format",
      "{{range .NetworkSettings.Networks}}{{.Gateway}}{{end}}",
      container,
    );
    expect(await fetch(`http://${host}:${port}/v1/health`).then((r) => r.ok)).toBe(true);
    const script = `(printf 'GET /v1/health HTTP/1.0\\r\\nHost: ${host}\\r\\n\\r\\n'; sleep 2) | nc -w 3 ${host} ${port}`;
    const { stdout: fromTask } = await run("docker", ["exec", container, "sh", "-c", script]).catch(
      (error: { stdout?: string }) => ({ stdout: error.stdout ?? "" }),
    );
    expect(fromTask, logs).toBe("");

    await admin.stopTask(task.id);
    let networks = "x";
    for (let i = 0; i < 30 && networks !== ""; i++) {
      await new Promise((done) => setTimeout(done, 1000));
      networks = await docker("network", "ls", "-q", "--filter", `label=skiff.task=${task.id}`);
    }
    expect(networks).toBe("");
  });

  it("runs a function on the fargate node and answers its invoke", async () => {
    const admin = new SkiffClient({ baseUrl, token: configuredAdminToken });
    const handler = "exports.handler = async (event) => ({ hello: event.name });\n";
    await admin.createFunction({
      name: "compose-hello",
      runtime: "nodejs24.x",
      handler: "index.handler",
      code: {
        zipBase64: Buffer.from(zipSync({ "index.js": Buffer.from(handler) })).toString("base64"),
      },
    });
    const answer = await admin.invokeFunction("compose-hello", '{"name":"skiff"}', {
      logTail: true,
    });
    const logs = await compose("logs", "--no-color", "--tail", "30", "agent-fargate");
    expect({ status: answer.status, payload: answer.payload }, logs).toEqual({
      status: 200,
      payload: '{"hello":"skiff"}',
    });
    expect(answer.logTail).toMatch(/REPORT RequestId/);
    await admin.deleteFunction("compose-hello");
  });

  // After the agents joined: without an admin token they restart, and exec finds none running.
  it("runs every image on Node 24 LTS (Node 20 is end of life)", async () => {
    for (const service of ["api", "registry", "agent", "agent-fargate"]) {
      const id = (await compose("ps", "-q", service)).trim().split("\n")[0] ?? "";
      expect(await docker("exec", id, "node", "--version"), service).toMatch(/^v24\./);
    }
  });

  it("serves a load-balanced service through the gateway", async () => {
    const admin = new SkiffClient({ baseUrl, token: configuredAdminToken });
    await admin.registerTaskDefinition({
      family: "hello",
      cpu: 128,
      memory: 64,
      containers: [
        {
          name: "web",
          image: "skiff-test/busybox:latest",
          command: ["httpd", "-f", "-p", "8080", "-h", "/www"],
          portMappings: [{ containerPort: 8080 }],
          stopTimeoutSeconds: 1,
        },
      ],
    });
    await admin.request("POST", "/v1/services", undefined, {
      name: "hello",
      taskDefinition: "hello",
      desiredCount: 2,
      loadBalancer: { containerName: "web", containerPort: 8080 },
    });
    let answer = "";
    for (let i = 0; i < 60 && answer !== "ok"; i++) {
      await new Promise((done) => setTimeout(done, 1000));
      // fetch may not send a Host header of its own, so this uses the path form of the gateway.
      answer = await fetch(`http://127.0.0.1:${gatewayPort}/_/services/hello/`).then(
        async (response) => (await response.text()).trim(),
        () => "",
      );
    }
    expect(answer, await compose("logs", "--no-color", "--tail", "30", "api")).toBe("ok");
    await admin.request("DELETE", "/v1/services/hello", undefined);
  });

  it("logs no secret besides the first admin token", async () => {
    const logs = await compose("logs", "--no-color");
    expect(logs).not.toMatch(/postgres:\/\/skiff:[^@]+@/);
    expect(logs).not.toMatch(/Bearer skf_/);
    expect(logs).not.toContain(configuredAdminToken);
    expect(logs).not.toMatch(/skj_[A-Za-z0-9_-]{20}/);
  });
});
