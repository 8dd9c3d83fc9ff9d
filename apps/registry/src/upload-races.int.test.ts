import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RegistryServer, startRegistryServer } from "./server.js";
import { sha256 } from "./test/oci.js";
import { startTestRegistry, type TestRegistry } from "./test/stack.js";

// Requests racing on one upload session, sent to two replicas over one database and one blob
// directory. Whatever the interleaving, every blob the registry accepts must hash to its digest.
let registry: TestRegistry;
let replica: RegistryServer;
let token: string;
const repo = "race/app";

beforeAll(async () => {
  registry = await startTestRegistry();
  replica = await startRegistryServer({
    db: registry.db,
    dataDir: registry.dataDir,
    port: 0,
    host: "127.0.0.1",
    realm: "http://127.0.0.1:9/v1/registry/token",
    logger: pino({ level: "silent" }),
    maintenanceIntervalMs: 3600_000,
  });
  token = registry.token({ [repo]: ["pull", "push"] });
});
afterAll(async () => {
  await replica.stop();
  await registry.close();
});

const replicaUrl = () => `http://127.0.0.1:${replica.port}`;

interface Sent {
  status: number;
  body: string;
}

/**
 * A request whose body is sent in parts, with pauses: `started` resolves once the headers are
 * out, `finish()` sends the rest. It goes to the replica when `toReplica`.
 */
function slowRequest(
  method: string,
  path: string,
  body: Buffer,
  toReplica: boolean,
): { finish(): void; done: Promise<Sent> } {
  const base = toReplica ? replicaUrl() : registry.url;
  let finish = () => {};
  const done = new Promise<Sent>((resolve, reject) => {
    const req = request(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/octet-stream",
        "content-length": String(body.length),
      },
    });
    req.on("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on("error", reject);
    req.flushHeaders();
    finish = () => req.end(body);
  });
  return { finish: () => finish(), done };
}

async function send(method: string, path: string, body: Buffer, toReplica: boolean) {
  const base = toReplica ? replicaUrl() : registry.url;
  const response = await fetch(`${base}${path}`, {
    method,
    body,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
  });
  return { status: response.status, body: await response.text() };
}

async function openSession(first: Buffer): Promise<string> {
  const post = await registry.fetch(`/v2/${repo}/blobs/uploads/`, { method: "POST", token });
  const location = post.headers.get("location") ?? "";
  const patch = await registry.fetch(location, {
    method: "PATCH",
    token,
    body: first,
    headers: { "content-range": `0-${first.length - 1}` },
  });
  expect(patch.status).toBe(202);
  return location;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Every accepted blob, pulled and on disk, hashes to its digest. */
async function expectIntact(accepted: string[]) {
  for (const digest of accepted) {
    const pulled = await registry.fetch(`/v2/${repo}/blobs/${digest}`, { token });
    expect(pulled.status).toBe(200);
    expect(sha256(Buffer.from(await pulled.arrayBuffer())), "pulled blob").toBe(digest);
  }
  const root = join(registry.dataDir, "blobs", "sha256");
  for (const prefix of await readdir(root).catch(() => [])) {
    for (const name of await readdir(join(root, prefix))) {
      const bytes = await readFile(join(root, prefix, name));
      expect(createHash("sha256").update(bytes).digest("hex"), "blob file").toBe(name);
    }
  }
}

describe("concurrent requests on one upload session", () => {
  it("never commits a blob whose bytes differ from its digest: PATCH held open across a PUT", async () => {
    const accepted: string[] = [];
    for (let round = 0; round < 6; round++) {
      const first = randomBytes(64 * 1024);
      const late = randomBytes(256 * 1024);
      const last = randomBytes(64 * 1024);
      const location = await openSession(first);
      // The PATCH opens the session and holds it, its body not sent yet; the PUT claims the
      // bytes it knows of (first + last) are the blob.
      const patch = slowRequest("PATCH", location, late, round % 2 === 1);
      await sleep(100);
      const digest = sha256(Buffer.concat([first, last]));
      const put = send("PUT", `${location}?digest=${digest}`, last, round % 2 === 0);
      await sleep(150);
      patch.finish();
      const [patched, closed] = await Promise.all([patch.done, put]);
      expect([202, 404, 416], patched.body).toContain(patched.status);
      expect([201, 400, 416], closed.body).toContain(closed.status);
      if (closed.status === 201) accepted.push(digest);
    }
    await expectIntact(accepted);
  });

  it("never commits a blob whose bytes differ from its digest: PATCH racing PUT and PATCH", async () => {
    const accepted: string[] = [];
    for (let round = 0; round < 16; round++) {
      const first = randomBytes(32 * 1024);
      const a = randomBytes(1536 * 1024);
      const b = randomBytes(1536 * 1024);
      const location = await openSession(first);
      const toReplica = round % 2 === 0;
      if (round % 4 < 2) {
        // PATCH against PUT, the PUT naming either order of the two bodies.
        const digest = sha256(Buffer.concat(round % 4 === 0 ? [first, a, b] : [first, b]));
        const [, closed] = await Promise.all([
          send("PATCH", location, a, toReplica),
          send("PUT", `${location}?digest=${digest}`, b, !toReplica),
        ]);
        if (closed.status === 201) accepted.push(digest);
      } else {
        // PATCH against PATCH, then the PUT for what the session holds.
        await Promise.all([
          send("PATCH", location, a, toReplica),
          send("PATCH", location, b, !toReplica),
        ]);
        const status = await registry.fetch(location, { token });
        const end = Number((status.headers.get("range") ?? "0-0").split("-")[1]);
        const candidates = [
          Buffer.concat([first, a, b]),
          Buffer.concat([first, b, a]),
          Buffer.concat([first, a]),
          Buffer.concat([first, b]),
        ].filter((bytes) => bytes.length === end + 1);
        for (const bytes of candidates.slice(0, 1)) {
          const closed = await registry.fetch(`${location}?digest=${sha256(bytes)}`, {
            method: "PUT",
            token,
          });
          if (closed.status === 201) accepted.push(sha256(bytes));
        }
      }
    }
    await expectIntact(accepted);
  });
});
