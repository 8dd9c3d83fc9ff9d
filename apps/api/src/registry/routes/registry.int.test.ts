import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RegistryServer, startRegistryServer } from "@skiff/registry";
import { SkiffApiError } from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createToken } from "../../auth/services/tokens.js";
import { ProtocolAgent } from "../../test/fake-agent.js";
import { createTestStack, type TestStack } from "../../test/harness.js";

// The management routes and the token endpoint, in-process, over a registry sharing the
// database: what the dashboard and `docker login` rely on.
let stack: TestStack;
let registry: RegistryServer;
let dataDir = "";

beforeAll(async () => {
  stack = await createTestStack();
  dataDir = await mkdtemp(join(tmpdir(), "skiff-registry-routes-"));
  registry = await startRegistryServer({
    db: stack.database.db,
    dataDir,
    port: 0,
    host: "127.0.0.1",
    realm: "http://skiff.test/v1/registry/token",
    logger: stack.services.logger,
  });
});
afterAll(async () => {
  await registry.stop();
  await stack.close();
  await rm(dataDir, { recursive: true, force: true });
});

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
}

async function registryToken(authorization: string | undefined, ...scopes: string[]) {
  const query = scopes.map((scope) => `scope=${encodeURIComponent(scope)}`).join("&");
  const response = await stack.request(`/v1/registry/token?service=skiff-registry&${query}`, {
    headers: authorization ? { authorization } : {},
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function claims(token: unknown): { access: { name: string; actions: string[] }[] } {
  return JSON.parse(Buffer.from(String(token).split(".")[1] ?? "", "base64url").toString());
}

async function push(repository: string, tag: string, token: string) {
  const base = `http://127.0.0.1:${registry.port}/v2/${repository}`;
  const config = Buffer.from(`{"tag":"${tag}"}`);
  const { createHash } = await import("node:crypto");
  const digest = `sha256:${createHash("sha256").update(config).digest("hex")}`;
  const headers = { authorization: `Bearer ${token}` };
  const blob = await fetch(`${base}/blobs/uploads/?digest=${digest}`, {
    method: "POST",
    headers,
    body: config,
  });
  expect(blob.status).toBe(201);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest, size: config.length },
    layers: [],
  });
  const put = await fetch(`${base}/manifests/${tag}`, {
    method: "PUT",
    headers: { ...headers, "content-type": "application/vnd.oci.image.manifest.v1+json" },
    body: manifest,
  });
  expect(put.status, await put.clone().text()).toBe(201);
  return put.headers.get("docker-content-digest") ?? "";
}

describe("GET /v1/registry/token", () => {
  it("gives deploy tokens pull, push and delete, read tokens pull only", async () => {
    const { token: deploy } = await createToken(stack.database.db, {
      name: "d",
      scopes: ["deploy"],
    });
    const { token: read } = await createToken(stack.database.db, { name: "r", scopes: ["read"] });
    const asked = "repository:team/app:pull,push,delete";
    const full = await registryToken(basic("x", deploy), asked, "repository:other:pull");
    expect(full.status).toBe(200);
    expect(full.body.expires_in).toBe(900);
    expect(full.body.access_token).toBe(full.body.token);
    expect(claims(full.body.token).access).toEqual([
      { type: "repository", name: "team/app", actions: ["pull", "push", "delete"] },
      { type: "repository", name: "other", actions: ["pull"] },
    ]);
    const limited = await registryToken(basic("x", read), asked);
    expect(claims(limited.body.token).access).toEqual([
      { type: "repository", name: "team/app", actions: ["pull"] },
    ]);
  });

  it("refuses wrong credentials with 401, and grants anonymous callers nothing by default", async () => {
    const wrong = await registryToken(basic("x", "skf_wrong"), "repository:team/app:pull");
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: { code: "Unauthorized" } });
    const anonymous = await registryToken(undefined, "repository:team/app:pull");
    expect(anonymous.status).toBe(200);
    expect(claims(anonymous.body.token).access).toEqual([]);
  });

  it("gives a node pull of what its tasks run only, and nothing with another node's id", async () => {
    const { token: deploy } = await createToken(stack.database.db, {
      name: "pusher",
      scopes: ["deploy"],
    });
    const pushToken = String(
      (
        await registryToken(
          basic("x", deploy),
          "repository:node/assigned:pull,push",
          "repository:node/private:pull,push",
        )
      ).body.token,
    );
    await push("node/assigned", "v1", pushToken);
    await push("node/private", "v1", pushToken);

    await stack.admin.createPool("pullers");
    const agent = await ProtocolAgent.join(stack, "pullers");
    await stack.admin.registerTaskDefinition({
      family: "puller",
      cpu: 256,
      memory: 256,
      containers: [{ name: "main", image: `localhost:${registry.port}/node/assigned:v1` }],
    });
    const [task] = await stack.admin.runTask({ taskDefinition: "puller", pool: "pullers" });
    expect(task?.nodeId).toBe(agent.id);

    // The docker token flow: the registry's challenge sends the client to the token endpoint
    // with the node's id and credential as Basic auth; the bearer token then pulls.
    const challenge = await fetch(`http://127.0.0.1:${registry.port}/v2/node/private/manifests/v1`);
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get("www-authenticate")).toContain("scope=");
    const asNode = basic(agent.id, agent.node.credential);
    const pull = async (repository: string) => {
      const issued = await registryToken(asNode, `repository:${repository}:pull`);
      expect(issued.status).toBe(200);
      return fetch(`http://127.0.0.1:${registry.port}/v2/${repository}/manifests/v1`, {
        headers: {
          authorization: `Bearer ${issued.body.token}`,
          accept: "application/vnd.oci.image.manifest.v1+json",
        },
      });
    };
    const assigned = await pull("node/assigned");
    expect(assigned.status, await assigned.clone().text()).toBe(200);
    const refused = await pull("node/private");
    expect(refused.status, await refused.clone().text()).toBe(403);
    expect(await refused.text()).toContain("DENIED");

    const both = await registryToken(
      asNode,
      "repository:node/assigned:pull,push",
      "repository:node/private:pull",
    );
    expect(claims(both.body.token).access).toEqual([
      { type: "repository", name: "node/assigned", actions: ["pull"] },
    ]);

    // Once the task has stopped the node has nothing left to pull.
    if (!task) throw new Error("no task");
    await stack.admin.stopTask(task.id);
    const stopped = await agent.report(task.id, { status: "stopped" });
    expect(stopped.status, await stopped.text()).toBe(204);
    expect((await pull("node/assigned")).status).toBe(403);

    const other = await registryToken(
      basic("node_other", agent.node.credential),
      "repository:a:pull",
    );
    expect(other.status).toBe(401);
  });
});

describe("management routes", () => {
  it("lists repositories and tags, changes settings, deletes tags and manifests", async () => {
    const { token: deploy } = await createToken(stack.database.db, {
      name: "p",
      scopes: ["deploy"],
    });
    const issued = await registryToken(basic("x", deploy), "repository:team/app:pull,push");
    const token = String(issued.body.token);
    const first = await push("team/app", "v1", token);
    await push("team/app", "v2", token);

    const page = await stack.admin.listRepositories({ limit: 10 });
    expect(page.repositories.map((repo) => repo.name)).toContain("team/app");
    const repository = await stack.admin.getRepository("team/app");
    expect(repository).toMatchObject({
      name: "team/app",
      tagCount: 2,
      immutableTags: false,
      anonymousPull: false,
      storageQuotaBytes: null,
      lifecycle: { keepLastTags: null, expireUntaggedAfterDays: null },
    });
    expect(repository.sizeBytes).toBeGreaterThan(0);
    const tags = await stack.admin.listImageTags("team/app");
    expect(tags.map((tag) => tag.tag)).toEqual(["v2", "v1"]);
    expect(tags[1]).toMatchObject({
      digest: first,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
    });

    const changed = await stack.admin.updateRepository("team/app", {
      immutableTags: true,
      anonymousPull: true,
      lifecycle: { keepLastTags: 5, expireUntaggedAfterDays: 7 },
    });
    expect(changed).toMatchObject({
      immutableTags: true,
      anonymousPull: true,
      lifecycle: { keepLastTags: 5, expireUntaggedAfterDays: 7 },
    });

    await stack.admin.deleteImageTag("team/app", "v2");
    expect((await stack.admin.listImageTags("team/app")).map((tag) => tag.tag)).toEqual(["v1"]);
    await stack.admin.deleteManifest("team/app", first);
    expect(await stack.admin.listImageTags("team/app")).toEqual([]);
    await expect(stack.admin.deleteManifest("team/app", first)).rejects.toMatchObject({
      status: 404,
      code: "NotFound",
    });
    await expect(stack.admin.getRepository("nope/nothing")).rejects.toBeInstanceOf(SkiffApiError);
    const invalid = await stack.request("/v1/registry/repositories/UPPER", {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    expect(invalid.status).toBe(400);
  });

  it("sets a storage quota that refuses a blob push beyond it with 403 DENIED", async () => {
    const { token: deploy } = await createToken(stack.database.db, {
      name: "q",
      scopes: ["deploy"],
    });
    const issued = await registryToken(basic("x", deploy), "repository:team/quota:pull,push");
    const token = String(issued.body.token);
    await push("team/quota", "v1", token);
    const used = (await stack.admin.getRepository("team/quota")).sizeBytes;
    const changed = await stack.admin.updateRepository("team/quota", {
      storageQuotaBytes: used + 1000,
    });
    expect(changed.storageQuotaBytes).toBe(used + 1000);

    const { createHash, randomBytes } = await import("node:crypto");
    const base = `http://127.0.0.1:${registry.port}/v2/team/quota/blobs/uploads/`;
    const headers = { authorization: `Bearer ${token}` };
    const pushBlob = async (data: Buffer) => {
      const digest = `sha256:${createHash("sha256").update(data).digest("hex")}`;
      return fetch(`${base}?digest=${digest}`, { method: "POST", headers, body: data });
    };
    expect((await pushBlob(randomBytes(500))).status).toBe(201);
    const refused = await pushBlob(randomBytes(2000));
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe(
      "DENIED",
    );

    const lifted = await stack.admin.updateRepository("team/quota", { storageQuotaBytes: null });
    expect(lifted.storageQuotaBytes).toBeNull();
    expect((await pushBlob(randomBytes(2000))).status).toBe(201);
    const negative = await stack.request("/v1/registry/repositories/team%2Fquota", {
      method: "PATCH",
      headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ storageQuotaBytes: -1 }),
    });
    expect(negative.status).toBe(400);
  });

  it("answers the registry address", async () => {
    expect(await stack.admin.registryInfo()).toEqual({ address: "localhost:5000" });
  });
});
