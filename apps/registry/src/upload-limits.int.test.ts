import { randomBytes } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { updateRepository } from "./services/management.js";
import { pushBlob, sha256 } from "./test/oci.js";
import { startTestRegistry, type TestRegistry } from "./test/stack.js";

// The registry's upload limits (largest blob, repository quota), the memory it keeps per
// upload, and what its errors may show.
let registry: TestRegistry;
let token: string;
const repo = "limits/app";
const maxBlobBytes = 10_000;

beforeAll(async () => {
  registry = await startTestRegistry({ maxBlobBytes, uploadHashIdleMs: 200 });
  token = registry.token({ [repo]: ["pull", "push"], "limits/quota": ["pull", "push"] });
});
afterAll(() => registry.close());

async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  const body = (await response.json()) as { errors: { code: string; message: string }[] };
  return body.errors[0] ?? { code: "none", message: "" };
}

async function openSession(repository = repo): Promise<string> {
  const post = await registry.fetch(`/v2/${repository}/blobs/uploads/`, { method: "POST", token });
  expect(post.status).toBe(202);
  return post.headers.get("location") ?? "";
}

async function uploadedRange(location: string): Promise<string | null> {
  return (await registry.fetch(location, { token })).headers.get("range");
}

/** A PATCH whose body is sent chunked, without Content-Length. */
function streamedPatch(
  location: string,
  parts: Buffer[],
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${registry.url}${location}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${token}`, "transfer-encoding": "chunked" },
    });
    req.on("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on("error", reject);
    for (const part of parts) req.write(part);
    req.end();
  });
}

describe("the largest blob (SKIFF_REGISTRY_MAX_BLOB_BYTES)", () => {
  it("refuses a monolithic push over it with 413 SIZE_INVALID and stores nothing", async () => {
    const data = randomBytes(maxBlobBytes + 1);
    const response = await registry.fetch(`/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, {
      method: "POST",
      token,
      body: data,
    });
    expect(response.status).toBe(413);
    expect((await errorOf(response)).code).toBe("SIZE_INVALID");
    const head = await registry.fetch(`/v2/${repo}/blobs/${sha256(data)}`, {
      method: "HEAD",
      token,
    });
    expect(head.status).toBe(404);
    // Nor is an upload session left behind.
    const sessions = await registry.sql`select id from registry_uploads`;
    expect(sessions).toEqual([]);
  });

  it("refuses the chunk that would pass it, keeps the upload as it was", async () => {
    const data = randomBytes(maxBlobBytes);
    const location = await openSession();
    const first = await registry.fetch(location, {
      method: "PATCH",
      token,
      body: data.subarray(0, 8000),
      headers: { "content-range": "0-7999" },
    });
    expect(first.status).toBe(202);
    const over = await registry.fetch(location, {
      method: "PATCH",
      token,
      body: randomBytes(4000),
      headers: { "content-range": "8000-11999" },
    });
    expect(over.status).toBe(413);
    expect((await errorOf(over)).code).toBe("SIZE_INVALID");
    expect(await uploadedRange(location)).toBe("0-7999");
    // A streamed chunk without Content-Length is counted as it is written.
    const streamed = await streamedPatch(location, [randomBytes(3000), randomBytes(3000)]);
    expect(streamed.status, streamed.body).toBe(413);
    expect(await uploadedRange(location)).toBe("0-7999");
    const put = await registry.fetch(`${location}?digest=${sha256(data)}`, {
      method: "PUT",
      token,
      body: data.subarray(8000),
    });
    expect(put.status, await put.clone().text()).toBe(201);
    const pulled = await registry.fetch(`/v2/${repo}/blobs/${sha256(data)}`, { token });
    expect(Buffer.from(await pulled.arrayBuffer()).equals(data)).toBe(true);
  });
});

describe("a repository's storage quota", () => {
  it("refuses a blob that would take the repository over it with 403 DENIED", async () => {
    await pushBlob(registry, "limits/quota", randomBytes(3000), token);
    await updateRepository(registry.db, "limits/quota", { storageQuotaBytes: 5000 });
    const over = randomBytes(2500);
    const refused = await registry.fetch(`/v2/limits/quota/blobs/uploads/?digest=${sha256(over)}`, {
      method: "POST",
      token,
      body: over,
    });
    expect(refused.status).toBe(403);
    expect((await errorOf(refused)).code).toBe("DENIED");
    // Streamed in chunks without a declared length: refused when the bytes pass the quota.
    const location = await openSession("limits/quota");
    const streamed = await streamedPatch(location, [randomBytes(1500), randomBytes(1500)]);
    expect(streamed.status, streamed.body).toBe(403);
    expect(await uploadedRange(location)).toBe("0-0");
    await pushBlob(registry, "limits/quota", randomBytes(1500), token);
  });
});

describe("upload state", () => {
  it("drops an idle upload's running hash from memory, and the upload still commits", async () => {
    const hashes = registry.server.context.uploadHashes;
    const data = randomBytes(6000);
    const location = await openSession();
    await registry.fetch(location, {
      method: "PATCH",
      token,
      body: data.subarray(0, 3000),
      headers: { "content-range": "0-2999" },
    });
    expect(hashes.size).toBeGreaterThan(0);
    await new Promise((done) => setTimeout(done, 500));
    expect(hashes.size).toBe(0);
    const put = await registry.fetch(`${location}?digest=${sha256(data)}`, {
      method: "PUT",
      token,
      body: data.subarray(3000),
    });
    expect(put.status, await put.clone().text()).toBe(201);
  });

  it("answers a storage failure without a filesystem path, as BLOB_UPLOAD_INVALID", async () => {
    const location = await openSession();
    const id = location.split("/").at(-1) ?? "";
    // The upload's file turned into something that cannot be written.
    const file = join(registry.dataDir, "uploads", id);
    await rm(file);
    await mkdir(file);
    const response = await registry.fetch(location, {
      method: "PATCH",
      token,
      body: randomBytes(100),
    });
    const text = await response.text();
    expect(response.status, text).toBe(400);
    expect(JSON.parse(text).errors[0].code).toBe("BLOB_UPLOAD_INVALID");
    expect(text).not.toContain(registry.dataDir);
    expect(text).not.toMatch(/uploads\/|EISDIR|errno/);
  });
});
