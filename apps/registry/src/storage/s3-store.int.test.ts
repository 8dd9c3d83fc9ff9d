import { randomBytes } from "node:crypto";
import { request } from "node:http";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RegistryServer, startRegistryServer } from "../server.js";
import { collectGarbage } from "../services/gc.js";
import { purgeStaleUploads } from "../services/uploads.js";
import { pushBlob, sha256 } from "../test/oci.js";
import { startTestRegistry, type TestRegistry } from "../test/stack.js";
import { createBlobStore } from "./create-store.js";
import { minPartSize } from "./s3-uploads.js";

// The S3 store against a real S3-protocol server (s3rver): what a user of a bucket-backed
// registry notices beyond the conformance suite (which runs over this store too).
const repo = "team/s3";
const MiB = 1 << 20;
let registry: TestRegistry;
/** A second replica: same database, same bucket, another process's memory. */
let replica: RegistryServer;
let token: string;

beforeAll(async () => {
  registry = await startTestRegistry({ storage: "s3-stream" });
  const s3 = registry.s3;
  if (!s3) throw new Error("no S3 server");
  replica = await startRegistryServer({
    db: registry.db,
    dataDir: registry.dataDir,
    store: await createBlobStore(s3.config("stream")),
    port: 0,
    host: "127.0.0.1",
    realm: "http://127.0.0.1:9/v1/registry/token",
    logger: pino({ level: "silent" }),
    maintenanceIntervalMs: 3600_000,
  });
  token = registry.token({ [repo]: ["pull", "push", "delete"] });
});
afterAll(async () => {
  await replica?.stop();
  await registry?.close();
});

function s3() {
  if (!registry.s3) throw new Error("no S3 server");
  return registry.s3;
}

/** `fetch` against replica A or B. */
function at(server: "a" | "b", path: string, init: RequestInit = {}) {
  const base = server === "a" ? registry.url : `http://127.0.0.1:${replica.port}`;
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  return fetch(`${base}${path}`, { ...init, headers });
}

async function patch(server: "a" | "b", location: string, data: Buffer, start: number) {
  const response = await at(server, location, {
    method: "PATCH",
    body: data,
    headers: {
      "content-range": `${start}-${start + data.length - 1}`,
      "content-type": "application/octet-stream",
    },
  });
  expect(response.status, await response.clone().text()).toBe(202);
  return response;
}

describe("S3 store", () => {
  it("continues a chunked upload on another replica, PATCH after PATCH across the 5 MiB part minimum", async () => {
    const data = randomBytes(9.5 * MiB);
    const cuts = [0, 3 * MiB, 6 * MiB, 7 * MiB, data.length];
    const post = await at("a", `/v2/${repo}/blobs/uploads/`, { method: "POST" });
    const location = post.headers.get("location") ?? "";
    const id = location.split("/").at(-1) ?? "";
    const uploadPrefix = `registry/uploads/${id}/`;
    const chunks = async () =>
      (await s3().objects(uploadPrefix)).filter((object) => !object.key.endsWith("state.json"));
    const servers = ["a", "b", "a", "b"] as const;
    for (const [index, server] of servers.entries()) {
      const start = cuts[index] as number;
      const response = await patch(server, location, data.subarray(start, cuts[index + 1]), start);
      expect(response.headers.get("range")).toBe(`0-${(cuts[index + 1] as number) - 1}`);
      if (index === 1) {
        // Two 3 MiB PATCHes became one 6 MiB object: every chunk but the last is a valid part.
        expect((await chunks()).map((object) => object.size)).toEqual([6 * MiB]);
      }
    }
    const sizes = (await chunks()).map((object) => object.size).sort((x, y) => y - x);
    expect(sizes).toEqual([6 * MiB, 3.5 * MiB]);
    expect(sizes[0]).toBeGreaterThanOrEqual(minPartSize);
    // Replica A's running hash missed B's chunks: it hashes what the bucket holds.
    const put = await at("a", `${location}?digest=${sha256(data)}`, { method: "PUT" });
    expect(put.status, await put.clone().text()).toBe(201);
    const get = await at("b", `/v2/${repo}/blobs/${sha256(data)}`);
    expect(get.status).toBe(200);
    expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);
    const blobKey = `registry/blobs/sha256/${sha256(data).slice("sha256:".length)}`;
    expect(await s3().objects(blobKey)).toEqual([{ key: blobKey, size: data.length }]);
    // The upload's objects went with the commit.
    expect(await s3().keys(uploadPrefix)).toEqual([]);
  });

  it("refuses a multi-chunk upload whose bytes do not match the digest, storing nothing", async () => {
    const data = randomBytes(6 * MiB);
    const post = await at("a", `/v2/${repo}/blobs/uploads/`, { method: "POST" });
    const location = post.headers.get("location") ?? "";
    await patch("a", location, data.subarray(0, 5 * MiB), 0);
    await patch("b", location, data.subarray(5 * MiB), 5 * MiB);
    const wrong = sha256("not these bytes");
    const put = await at("b", `${location}?digest=${wrong}`, { method: "PUT" });
    expect(put.status).toBe(400);
    expect(await s3().keys("registry/blobs/")).not.toContain(
      `registry/blobs/sha256/${wrong.slice(7)}`,
    );
    expect(await s3().keys(`registry/uploads/${location.split("/").at(-1)}/`)).toEqual([]);
  });

  it("leaves no object behind a cancelled upload, nor behind an abandoned one once purged", async () => {
    const cancelled = await at("a", `/v2/${repo}/blobs/uploads/`, { method: "POST" });
    const location = cancelled.headers.get("location") ?? "";
    // Over the part size: the PATCH is a multipart upload of its own.
    await patch("a", location, randomBytes(9 * MiB), 0);
    const id = location.split("/").at(-1) ?? "";
    expect((await s3().keys(`registry/uploads/${id}/`)).length).toBe(2);
    expect((await at("b", location, { method: "DELETE" })).status).toBe(204);
    expect(await s3().keys(`registry/uploads/${id}/`)).toEqual([]);

    const abandoned = await at("a", `/v2/${repo}/blobs/uploads/`, { method: "POST" });
    await patch("a", abandoned.headers.get("location") ?? "", randomBytes(1000), 0);
    expect(await s3().keys("registry/uploads/")).not.toEqual([]);
    await purgeStaleUploads(registry.server.context, -60_000);
    expect(await s3().keys("registry/uploads/")).toEqual([]);
  });

  it("keeps the upload as it was when a PATCH is cut off mid-part", async () => {
    const post = await at("a", `/v2/${repo}/blobs/uploads/`, { method: "POST" });
    const location = post.headers.get("location") ?? "";
    const first = randomBytes(2 * MiB);
    await patch("a", location, first, 0);
    await new Promise<void>((done) => {
      const req = request(`${registry.url}${location}`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${token}`, "content-length": String(20 * MiB) },
      });
      req.on("error", () => done());
      // More than a part of the PATCH's own multipart upload, then the connection drops.
      req.write(randomBytes(10 * MiB), () => {
        setTimeout(() => {
          req.destroy();
          setTimeout(done, 500);
        }, 300);
      });
    });
    const status = await at("b", location);
    expect(status.headers.get("range")).toBe(`0-${first.length - 1}`);
    const id = location.split("/").at(-1) ?? "";
    expect((await s3().objects(`registry/uploads/${id}/`)).map((o) => o.size)).toContain(
      first.length,
    );
    const rest = randomBytes(100);
    const put = await at("b", `${location}?digest=${sha256(Buffer.concat([first, rest]))}`, {
      method: "PUT",
      body: rest,
      headers: { "content-range": `${first.length}-${first.length + 99}` },
    });
    expect(put.status, await put.clone().text()).toBe(201);
  });

  it("deletes the object when garbage collection frees the blob", async () => {
    const data = randomBytes(2000);
    const digest = await pushBlob(registry, repo, data, token);
    const key = `registry/blobs/sha256/${digest.slice(7)}`;
    expect(await s3().keys(key)).toEqual([key]);
    expect((await at("a", `/v2/${repo}/blobs/${digest}`, { method: "DELETE" })).status).toBe(202);
    const freed = await collectGarbage(registry.server.context, { graceMs: 0 });
    expect(freed.blobs).toBeGreaterThanOrEqual(1);
    expect(await s3().keys(key)).toEqual([]);
  });

  it("streams a blob and its ranges through the registry in stream mode", async () => {
    const data = randomBytes(100_000);
    const digest = await pushBlob(registry, repo, data, token);
    const whole = await at("b", `/v2/${repo}/blobs/${digest}`, { redirect: "manual" });
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(data)).toBe(true);
    const part = await at("a", `/v2/${repo}/blobs/${digest}`, {
      redirect: "manual",
      headers: { range: "bytes=70000-79999" },
    });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 70000-79999/100000");
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(70_000, 80_000))).toBe(true);
  });
});

describe("S3 store, pulls by redirect", () => {
  let redirecting: TestRegistry;
  beforeAll(async () => {
    redirecting = await startTestRegistry({ storage: "s3-redirect" });
  });
  afterAll(() => redirecting?.close());

  it("answers a blob GET with 307 to a presigned URL that serves the blob and its ranges", async () => {
    const pushToken = redirecting.token({ [repo]: ["pull", "push"] });
    const data = randomBytes(50_000);
    const digest = await pushBlob(redirecting, repo, data, pushToken);
    const answer = await redirecting.fetch(`/v2/${repo}/blobs/${digest}`, {
      token: pushToken,
      redirect: "manual",
    });
    expect(answer.status).toBe(307);
    const location = answer.headers.get("location") ?? "";
    expect(location.startsWith(`${redirecting.s3?.endpoint}/`)).toBe(true);
    expect(location).toContain("X-Amz-Signature=");
    // No registry token travels to S3: the URL alone grants the download.
    const direct = await fetch(location);
    expect(Buffer.from(await direct.arrayBuffer()).equals(data)).toBe(true);
    const range = await fetch(location, { headers: { range: "bytes=100-199" } });
    expect(range.status).toBe(206);
    expect(Buffer.from(await range.arrayBuffer()).equals(data.subarray(100, 200))).toBe(true);
    // A HEAD is answered by the registry itself.
    const head = await redirecting.fetch(`/v2/${repo}/blobs/${digest}`, {
      token: pushToken,
      method: "HEAD",
      redirect: "manual",
    });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("50000");
  });

  it("does not redirect a pull the token does not allow", async () => {
    const data = randomBytes(100);
    const digest = await pushBlob(
      redirecting,
      repo,
      data,
      redirecting.token({ [repo]: ["push", "pull"] }),
    );
    const denied = await redirecting.fetch(`/v2/${repo}/blobs/${digest}`, {
      token: redirecting.token({ other: ["pull"] }),
      redirect: "manual",
    });
    expect(denied.status).toBe(403);
    expect(denied.headers.get("location")).toBeNull();
  });
});
