// s3rver ships no types; the declaration the registry tests use serves here too.
/// <reference path="../../../registry/src/test/s3rver.d.ts" />
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import S3rver from "@20minutes/s3rver";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestDatabase } from "../test/harness.js";
import { freePort, type SkiffProcess, startSkiffProcess, waitForHealth } from "../test/process.js";

// The api process (`npm start`) running its registry over S3, configured only by environment
// variables, against a real S3-protocol server (s3rver): docker pushes, and pulls by redirect
// to presigned URLs.
const exec = promisify(execFile);
const adminToken = "registry-s3-e2e-admin-token-0123456789";
const run = `s${randomBytes(3).toString("hex")}`;
const bucket = `skiff-e2e-${run}`;
// s3rver knows one access key; it is told to take any secret, so this one can be looked for.
const secret = `secret-${randomBytes(12).toString("hex")}`;

let skiff: SkiffProcess;
let s3rver: S3rver;
let s3: S3Client;
let registry = "";
let work = "";
let dropDatabase: (() => Promise<void>) | undefined;
const images: string[] = [];

async function sh(command: string, args: string[]) {
  try {
    const { stdout, stderr } = await exec(command, args, { maxBuffer: 64 * 1024 * 1024 });
    return `${stdout}${stderr}`;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed: ${failed.stdout}${failed.stderr}`);
  }
}

const docker = (...args: string[]) => sh("docker", ["--config", join(work, "docker"), ...args]);

async function keys(prefix: string): Promise<string[]> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (page.Contents ?? []).flatMap((entry) => (entry.Key ? [entry.Key] : []));
}

beforeAll(async () => {
  await sh("bash", [join(import.meta.dirname, "../../../../scripts/build-test-images.sh")]);
  work = mkdtempSync(join(tmpdir(), "skiff-registry-s3-e2e-"));
  s3rver = new S3rver({
    address: "127.0.0.1",
    port: 0,
    directory: join(work, "s3"),
    silent: true,
    // s3rver signs bucket listings differently from the SDK (see registry's test/s3.ts).
    allowMismatchedSignatures: true,
    configureBuckets: [{ name: bucket }],
  });
  const endpoint = `http://127.0.0.1:${(await s3rver.run()).port}`;
  s3 = new S3Client({
    region: "us-east-1",
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });
  const database = await createTestDatabase();
  dropDatabase = database.drop;
  const registryPort = await freePort();
  registry = `127.0.0.1:${registryPort}`;
  skiff = await startSkiffProcess(work, {
    DATABASE_URL: database.url,
    REDIS_URL: inject("redisUrl"),
    SKIFF_ADMIN_TOKEN: adminToken,
    SKIFF_LOCAL_AGENT: "false",
    SKIFF_REGISTRY_PORT: String(registryPort),
    SKIFF_REGISTRY_ADDRESS: registry,
    // Everything the process says, so a leaked secret would show.
    LOG_LEVEL: "trace",
    AWS_EC2_METADATA_DISABLED: "true",
    SKIFF_REGISTRY_STORAGE: "s3",
    SKIFF_REGISTRY_S3_BUCKET: bucket,
    SKIFF_REGISTRY_S3_ENDPOINT: endpoint,
    SKIFF_REGISTRY_S3_REGION: "us-east-1",
    SKIFF_REGISTRY_S3_ACCESS_KEY_ID: "S3RVER",
    SKIFF_REGISTRY_S3_SECRET_ACCESS_KEY: secret,
    SKIFF_REGISTRY_S3_FORCE_PATH_STYLE: "true",
    SKIFF_REGISTRY_S3_PREFIX: "e2e/",
    SKIFF_REGISTRY_S3_PULL: "redirect",
  });
  await waitForHealth(skiff, 15_000);
  // The registry starts after the api answers, once its store has reached the bucket.
  for (let tries = 0; ; tries++) {
    const answer = await fetch(`http://${registry}/v2/`).catch(() => undefined);
    if (answer?.status === 401) break;
    if (tries > 150) throw new Error(`the registry never answered: ${skiff.output()}`);
    await new Promise((wait) => setTimeout(wait, 100));
  }
  await docker("login", registry, "-u", "ci", "-p", adminToken);
}, 180_000);

afterAll(async () => {
  await skiff?.end();
  if (images.length) await sh("docker", ["rmi", "-f", ...images]).catch(() => {});
  await dropDatabase?.();
  s3?.destroy();
  await s3rver?.close().catch(() => {});
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("registry over S3", () => {
  it("takes a docker push into the bucket and serves docker pull by redirect", async () => {
    const context = mkdtempSync(join(work, "build-"));
    const a = randomBytes(16).toString("hex");
    writeFileSync(join(context, "a"), a);
    // A layer over the 8 MiB part size of the registry's multipart upload.
    writeFileSync(join(context, "b"), randomBytes(12 << 20));
    writeFileSync(
      join(context, "Dockerfile"),
      'FROM skiff-test/busybox:latest\nCOPY a /a\nCOPY b /b\nCMD ["sh"]\n',
    );
    const image = `${registry}/${run}/app:v1`;
    await sh("docker", ["build", "-q", "-t", image, context]);
    images.push(image);
    const pushed = await docker("push", image);
    expect(pushed).toMatch(/digest: sha256:[a-f0-9]{64}/);
    // The config and three layers, and no upload left over.
    expect((await keys("e2e/blobs/sha256/")).length).toBeGreaterThanOrEqual(4);
    expect(await keys("e2e/uploads/")).toEqual([]);

    await sh("docker", ["rmi", image]);
    await docker("pull", image);
    const ran = await sh("docker", ["run", "--rm", "--entrypoint", "cat", image, "/a"]);
    expect(ran.trim()).toBe(a);
  });

  it("never writes the S3 secret to its log", () => {
    expect(skiff.output().length).toBeGreaterThan(0);
    expect(skiff.output()).not.toContain(secret);
  });
});
