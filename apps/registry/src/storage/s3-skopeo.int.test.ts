import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../test/oci.js";
import { startTestRegistry, type TestRegistry } from "../test/stack.js";

// skopeo, a client people use, pushing to and pulling from a registry whose blobs live in S3,
// pulled both ways: by redirect to presigned URLs, and streamed through the registry.
const exec = promisify(execFile);

async function skopeo(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await exec("skopeo", args, { maxBuffer: 64 * 1024 * 1024 });
    return `${stdout}${stderr}`;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    throw new Error(`skopeo ${args.join(" ")} failed: ${failed.stdout}${failed.stderr}`);
  }
}

/** An image of a config and `layers`, as its blobs and manifest bytes. */
function imageOf(layers: Buffer[]) {
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux" }));
  const blob = (mediaType: string, data: Buffer) => ({
    mediaType,
    digest: sha256(data),
    size: data.length,
  });
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: blob("application/vnd.oci.image.config.v1+json", config),
      layers: layers.map((data) => blob("application/vnd.oci.image.layer.v1.tar+gzip", data)),
    }),
  );
  return { config, layers, manifest };
}

/** The image as an OCI image layout in `dir`, tagged `latest`. */
async function writeLayout(dir: string, image: ReturnType<typeof imageOf>): Promise<void> {
  const blobs = join(dir, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  for (const data of [image.config, ...image.layers, image.manifest]) {
    await writeFile(join(blobs, sha256(data).slice(7)), data);
  }
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: sha256(image.manifest),
          size: image.manifest.length,
          annotations: { "org.opencontainers.image.ref.name": "latest" },
        },
      ],
    }),
  );
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "skiff-s3-skopeo-"));
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe.each(["s3-redirect", "s3-stream"] as const)(
  "skopeo through the S3 store (%s)",
  (storage) => {
    let registry: TestRegistry;
    beforeAll(async () => {
      registry = await startTestRegistry({ storage });
    });
    afterAll(() => registry?.close());

    it("copies an image in and out, byte for byte", async () => {
      // One layer over a part of the registry's own multipart upload, one small.
      // gzip, as the media type says: skopeo compresses a layer it finds uncompressed.
      const image = imageOf([gzipSync(randomBytes(9 << 20)), gzipSync(randomBytes(1024))]);
      const layout = join(work, `${storage}-layout`);
      await writeLayout(layout, image);
      const token = registry.token({ "team/skopeo": ["pull", "push"] });
      const target = `docker://${registry.address}/team/skopeo:v1`;
      await skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-registry-token",
        token,
        `oci:${layout}:latest`,
        target,
      );
      const layerKeys = await registry.s3?.keys("registry/blobs/sha256/");
      for (const data of image.layers) {
        expect(layerKeys).toContain(`registry/blobs/sha256/${sha256(data).slice(7)}`);
      }
      const dir = join(work, `${storage}-dir`);
      await skopeo(
        "copy",
        "--src-tls-verify=false",
        "--src-registry-token",
        token,
        target,
        `dir:${dir}`,
      );
      expect((await readFile(join(dir, "manifest.json"))).equals(image.manifest)).toBe(true);
      for (const data of [image.config, ...image.layers]) {
        expect((await readFile(join(dir, sha256(data).slice(7)))).equals(data)).toBe(true);
      }
    });
  },
);
