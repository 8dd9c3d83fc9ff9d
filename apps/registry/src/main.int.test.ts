import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushBlob } from "./test/oci.js";
import { startTestRegistry, type TestRegistry } from "./test/stack.js";

// The standalone registry process (`node apps/registry/dist/main.js`, compose's registry
// service) configured for S3 by its environment alone.
const mainScript = fileURLToPath(new URL("../dist/main.js", import.meta.url));
// s3rver takes any secret (test/s3.ts), so this one can be looked for in the output.
const secret = `secret-${randomBytes(12).toString("hex")}`;

let shared: TestRegistry;
const children: ChildProcess[] = [];

beforeAll(async () => {
  shared = await startTestRegistry({ storage: "s3-stream" });
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await shared?.close();
});

function freePort(): Promise<number> {
  return new Promise((found, failed) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? found(address.port) : failed()));
    });
  });
}

function startRegistryProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, [mainScript], {
    env: {
      PATH: process.env.PATH ?? "",
      DATABASE_URL: shared.databaseUrl,
      HOST: "127.0.0.1",
      LOG_LEVEL: "trace",
      AWS_EC2_METADATA_DISABLED: "true",
      SKIFF_REGISTRY_MAINTENANCE_INTERVAL_SECONDS: "3600",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  return { child, exited, output: () => output };
}

function s3Env(bucket: string): Record<string, string> {
  const s3 = shared.s3;
  if (!s3) throw new Error("no S3 server");
  return {
    SKIFF_REGISTRY_STORAGE: "s3",
    SKIFF_REGISTRY_S3_BUCKET: bucket,
    SKIFF_REGISTRY_S3_ENDPOINT: s3.endpoint,
    SKIFF_REGISTRY_S3_ACCESS_KEY_ID: "S3RVER",
    SKIFF_REGISTRY_S3_SECRET_ACCESS_KEY: secret,
    SKIFF_REGISTRY_S3_FORCE_PATH_STYLE: "true",
    SKIFF_REGISTRY_S3_PREFIX: "standalone/",
    SKIFF_REGISTRY_S3_PULL: "stream",
  };
}

describe("standalone registry over S3", () => {
  it("stores pushed blobs in the bucket and never logs the secret", async () => {
    const port = await freePort();
    const registry = startRegistryProcess({
      ...s3Env(shared.s3?.bucket ?? ""),
      SKIFF_REGISTRY_PORT: String(port),
    });
    const url = `http://127.0.0.1:${port}`;
    for (let tries = 0; ; tries++) {
      const answer = await fetch(`${url}/v2/`).catch(() => undefined);
      if (answer?.status === 401) break;
      if (registry.child.exitCode !== null || tries > 150) throw new Error(registry.output());
      await new Promise((wait) => setTimeout(wait, 100));
    }
    const token = shared.token({ "team/alone": ["pull", "push"] });
    const data = randomBytes(3000);
    const digest = await pushBlob(
      { ...shared, url, fetch: withBase(url) },
      "team/alone",
      data,
      token,
    );
    expect(await shared.s3?.keys("standalone/blobs/")).toEqual([
      `standalone/blobs/sha256/${digest.slice(7)}`,
    ]);
    const get = await withBase(url)(`/v2/team/alone/blobs/${digest}`, { token });
    expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);
    registry.child.kill("SIGTERM");
    expect(await registry.exited).toBe(0);
    expect(registry.output()).not.toContain(secret);
  });

  it("exits at boot naming the variable when S3 is chosen without a bucket", async () => {
    const registry = startRegistryProcess({ SKIFF_REGISTRY_STORAGE: "s3" });
    expect(await registry.exited).toBe(1);
    expect(registry.output()).toContain("SKIFF_REGISTRY_S3_BUCKET");
  });

  it("exits at boot saying so when the bucket cannot be reached, without the secret", async () => {
    const registry = startRegistryProcess({
      ...s3Env("no-such-bucket"),
      SKIFF_REGISTRY_PORT: String(await freePort()),
    });
    expect(await registry.exited).toBe(1);
    expect(registry.output()).toContain("S3 bucket no-such-bucket is not reachable");
    expect(registry.output()).not.toContain(secret);
  });
});

/** `TestRegistry.fetch` against another base URL. */
function withBase(url: string) {
  return (path: string, init: RequestInit & { token?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.token) headers.set("authorization", `Bearer ${init.token}`);
    return fetch(`${url}${path}`, { ...init, headers });
  };
}
