import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { SkiffClient } from "@skiff/shared";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestDatabase } from "../test/harness.js";
import { freePort, type SkiffProcess, startSkiffProcess, waitForHealth } from "../test/process.js";

// The registry with the clients people use, unchanged: docker (login, push, pull, manifest)
// and skopeo, against the real api process (`npm start`) with its registry and local agent.
const exec = promisify(execFile);
const adminToken = "registry-e2e-admin-token-0123456789";
const run = `r${randomBytes(3).toString("hex")}`;

let skiff: SkiffProcess;
let client: SkiffClient;
let registry = "";
let work = "";
let dropDatabase: (() => Promise<void>) | undefined;
const images: string[] = [];
let nodeId = "";

async function sh(command: string, args: string[], options: { ok?: boolean } = {}) {
  try {
    const { stdout, stderr } = await exec(command, args, { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, out: `${stdout}${stderr}` };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (options.ok !== false) {
      throw new Error(`${command} ${args.join(" ")} failed: ${failed.stdout}${failed.stderr}`);
    }
    return { code: failed.code ?? 1, out: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

/** docker with its own client config (credentials) per identity. */
function docker(identity: string, ...args: string[]) {
  return sh("docker", ["--config", join(work, `docker-${identity}`), ...args]);
}
function dockerMayFail(identity: string, ...args: string[]) {
  return sh("docker", ["--config", join(work, `docker-${identity}`), ...args], { ok: false });
}

/** A fresh image of three layers (busybox plus two of random bytes), tagged `tag`. */
async function buildImage(tag: string): Promise<{ a: string }> {
  const context = mkdtempSync(join(work, "build-"));
  const a = randomBytes(16).toString("hex");
  writeFileSync(join(context, "a"), a);
  writeFileSync(join(context, "b"), randomBytes(256 * 1024));
  writeFileSync(
    join(context, "Dockerfile"),
    'FROM skiff-test/busybox:latest\nCOPY a /a\nCOPY b /b\nCMD ["sh", "-c", "cat /a; echo; sleep 300"]\n',
  );
  await sh("docker", ["build", "-q", "-t", tag, context]);
  images.push(tag);
  return { a };
}

beforeAll(async () => {
  await sh("bash", [join(import.meta.dirname, "../../../../scripts/build-test-images.sh")]);
  const database = await createTestDatabase();
  dropDatabase = database.drop;
  work = mkdtempSync(join(tmpdir(), "skiff-registry-e2e-"));
  const registryPort = await freePort();
  registry = `127.0.0.1:${registryPort}`;
  skiff = await startSkiffProcess(work, {
    DATABASE_URL: database.url,
    REDIS_URL: inject("redisUrl"),
    SKIFF_ADMIN_TOKEN: adminToken,
    SKIFF_LOCAL_AGENT: "true",
    SKIFF_REGISTRY_PORT: String(registryPort),
    SKIFF_REGISTRY_ADDRESS: registry,
  });
  await waitForHealth(skiff, 15_000);
  client = new SkiffClient({ baseUrl: skiff.baseUrl, token: adminToken });
  await docker("admin", "login", registry, "-u", "ci", "-p", adminToken);
}, 180_000);

afterAll(async () => {
  if (nodeId) {
    const ids = (
      await sh("docker", ["ps", "-aq", "--filter", `label=skiff.node=${nodeId}`])
    ).out.trim();
    if (ids) await sh("docker", ["rm", "-f", ...ids.split("\n")], { ok: false });
  }
  await skiff?.end();
  if (images.length) await sh("docker", ["rmi", "-f", ...images], { ok: false });
  await dropDatabase?.();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("docker", () => {
  const app = () => `${registry}/${run}/app`;

  it("pushes a multi-layer image after docker login with a Skiff token, pulls it back, by tag and digest", async () => {
    const { a } = await buildImage(`${app()}:v1`);
    const pushed = await docker("admin", "push", `${app()}:v1`);
    const digest = /digest: (sha256:[a-f0-9]{64})/.exec(pushed.out)?.[1];
    expect(digest, pushed.out).toBeDefined();
    await sh("docker", ["rmi", `${app()}:v1`]);
    await docker("admin", "pull", `${app()}:v1`);
    const ran = await sh("docker", ["run", "--rm", "--entrypoint", "cat", `${app()}:v1`, "/a"]);
    expect(ran.out.trim()).toBe(a);
    await sh("docker", ["rmi", `${app()}:v1`]);
    const byDigest = await docker("admin", "pull", `${app()}@${digest}`);
    expect(byDigest.out).toContain(`Digest: ${digest}`);
    images.push(`${app()}@${digest}`);

    const tags = await client.listImageTags(`${run}/app`);
    expect(tags).toEqual([expect.objectContaining({ tag: "v1", digest })]);
    const repository = await client.getRepository(`${run}/app`);
    expect(repository.tagCount).toBe(1);
    expect(repository.sizeBytes).toBeGreaterThan(256 * 1024);
    expect(repository.lastPushedAt).not.toBeNull();
  });

  it("emits a registry.push event for the push", async () => {
    // The process keeps its keys under its own prefix (test/process.ts).
    const redis = new Redis(inject("redisUrl"), { keyPrefix: `test:${basename(work)}:` });
    try {
      const entries = await redis.xrevrange("skiff:events", "+", "-", "COUNT", 500);
      const events = entries.map(([, fields]) => {
        const event: Record<string, string> = {};
        for (let i = 0; i < fields.length; i += 2) event[fields[i] ?? ""] = fields[i + 1] ?? "";
        return event;
      });
      expect(events).toContainEqual(
        expect.objectContaining({ type: "registry.push", repository: `${run}/app`, tag: "v1" }),
      );
    } finally {
      redis.disconnect();
    }
  });

  it("mounts layers from another repository instead of uploading them again", async () => {
    // The first test left only the by-digest pull locally; docker remembers where it came from.
    await docker("admin", "pull", `${app()}:v1`);
    await sh("docker", ["tag", `${app()}:v1`, `${registry}/${run}/copy:v1`]);
    images.push(`${registry}/${run}/copy:v1`, `${app()}:v1`);
    const pushed = await docker("admin", "push", `${registry}/${run}/copy:v1`);
    expect(pushed.out).toContain(`Mounted from ${run}/app`);
  });

  it("pushes a manifest list with docker manifest, and pulls through it", async () => {
    await buildImage(`${app()}:v2`);
    await docker("admin", "push", `${app()}:v2`);
    const list = `${registry}/${run}/multi:v1`;
    await docker("admin", "manifest", "create", "--insecure", list, `${app()}:v1`, `${app()}:v2`);
    await docker("admin", "manifest", "annotate", "--arch", "arm64", list, `${app()}:v2`);
    const pushed = await docker("admin", "manifest", "push", "--insecure", "--purge", list);
    expect(pushed.out).toMatch(/sha256:[a-f0-9]{64}/);
    const raw = await sh("skopeo", [
      "inspect",
      "--raw",
      "--tls-verify=false",
      "--creds",
      `ci:${adminToken}`,
      `docker://${list}`,
    ]);
    expect(JSON.parse(raw.out).mediaType).toBe(
      "application/vnd.docker.distribution.manifest.list.v2+json",
    );
  });

  it("refuses docker login with a wrong token, and a push with a read-only token", async () => {
    const wrong = await dockerMayFail("wrong", "login", registry, "-u", "x", "-p", "skf_wrong");
    expect(wrong.code).not.toBe(0);
    expect(wrong.out).toMatch(/unauthorized|401/i);

    const reader = await client.createToken({ name: "reader", scopes: ["read"] });
    await docker("reader", "login", registry, "-u", "reader", "-p", reader.token);
    await docker("reader", "pull", `${app()}:v1`);
    await sh("docker", ["tag", `${app()}:v1`, `${registry}/${run}/readonly:v1`]);
    images.push(`${registry}/${run}/readonly:v1`);
    const push = await dockerMayFail("reader", "push", `${registry}/${run}/readonly:v1`);
    expect(push.code).not.toBe(0);
    expect(push.out).toMatch(/denied/i);
    const repositories = (await client.listRepositories()).repositories.map((repo) => repo.name);
    expect(repositories).not.toContain(`${run}/readonly`);
  });

  it("keeps a tag of an immutable repository where it is", async () => {
    await client.updateRepository(`${run}/app`, { immutableTags: true });
    await buildImage(`${app()}:v1`);
    const push = await dockerMayFail("admin", "push", `${app()}:v1`);
    expect(push.code).not.toBe(0);
    expect(push.out).toMatch(/immutable/);
    await client.updateRepository(`${run}/app`, { immutableTags: false });
  });
});

describe("skopeo", () => {
  const creds = () => ["--creds", `ci:${adminToken}`];

  it("copies oci: and dir: layouts to and from the registry, inspects and deletes", async () => {
    const layout = join(work, "layout");
    const dir = join(work, "dir");
    await sh("skopeo", ["copy", "docker-daemon:skiff-test/busybox:latest", `oci:${layout}:latest`]);
    const target = `docker://${registry}/${run}/skopeo:v1`;
    await sh("skopeo", [
      "copy",
      "--dest-tls-verify=false",
      "--dest-creds",
      `ci:${adminToken}`,
      `oci:${layout}:latest`,
      target,
    ]);
    await sh("skopeo", [
      "copy",
      "--src-tls-verify=false",
      "--src-creds",
      `ci:${adminToken}`,
      target,
      `dir:${dir}`,
    ]);
    const copied = `docker://${registry}/${run}/skopeo-dir:v1`;
    await sh("skopeo", [
      "copy",
      "--dest-tls-verify=false",
      "--dest-creds",
      `ci:${adminToken}`,
      `dir:${dir}`,
      copied,
    ]);
    const inspected = JSON.parse(
      (await sh("skopeo", ["inspect", "--tls-verify=false", ...creds(), copied])).out,
    ) as { Digest: string; Layers: string[] };
    expect(inspected.Layers.length).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")).layers).toHaveLength(
      inspected.Layers.length,
    );
    await sh("skopeo", ["delete", "--tls-verify=false", ...creds(), target]);
    const gone = await sh("skopeo", ["inspect", "--tls-verify=false", ...creds(), target], {
      ok: false,
    });
    expect(gone.code).not.toBe(0);
    expect(gone.out).toMatch(/manifest unknown/i);
  });

  it("pulls anonymously only from repositories that allow it", async () => {
    const target = `docker://${registry}/${run}/skopeo-dir:v1`;
    const before = await sh("skopeo", ["inspect", "--tls-verify=false", "--no-creds", target], {
      ok: false,
    });
    expect(before.code).not.toBe(0);
    await client.updateRepository(`${run}/skopeo-dir`, { anonymousPull: true });
    const after = await sh("skopeo", ["inspect", "--tls-verify=false", "--no-creds", target]);
    expect(JSON.parse(after.out).Layers.length).toBeGreaterThan(0);
  });
});

describe("nodes", () => {
  it("runs a task whose image lives only in the built-in registry", async () => {
    const nodes = await client.listNodes({ pool: "default" });
    nodeId = nodes[0]?.id ?? "";
    expect(nodeId).not.toBe("");
    const image = `${registry}/${run}/only-here:v1`;
    const { a } = await buildImage(image);
    await docker("admin", "push", image);
    await sh("docker", ["rmi", image]);
    const absent = await sh("docker", ["image", "inspect", image], { ok: false });
    expect(absent.code).not.toBe(0);

    await client.registerTaskDefinition({
      family: `${run}-only-here`,
      containers: [{ name: "main", image }],
      cpu: 128,
      memory: 64,
    });
    const [task] = await client.runTask({ taskDefinition: `${run}-only-here`, launchType: "pool" });
    const deadline = Date.now() + 45_000;
    let status = "";
    while (Date.now() < deadline) {
      const current = await client.getTask(task?.id ?? "");
      status = current.status;
      if (status === "running" || status === "stopped") {
        expect(status, JSON.stringify(current)).toBe("running");
        break;
      }
      await new Promise((done) => setTimeout(done, 300));
    }
    expect(status).toBe("running");
    // The image's own command printed what only that image holds.
    let logs = "";
    for (let tries = 0; tries < 60 && !logs.includes(a); tries++) {
      logs = JSON.stringify(await client.taskLogs(task?.id ?? ""));
      await new Promise((done) => setTimeout(done, 250));
    }
    expect(logs).toContain(a);
  });
});
