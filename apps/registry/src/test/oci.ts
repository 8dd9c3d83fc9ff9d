import { createHash, randomBytes } from "node:crypto";
import type { TestRegistry } from "./stack.js";

export const sha256 = (data: Uint8Array | string) =>
  `sha256:${createHash("sha256").update(data).digest("hex")}`;

/** Pushes a blob monolithically (POST ?digest=); returns its digest. */
export async function pushBlob(
  registry: TestRegistry,
  repository: string,
  data: Buffer,
  token: string,
): Promise<string> {
  const digest = sha256(data);
  const response = await registry.fetch(`/v2/${repository}/blobs/uploads/?digest=${digest}`, {
    method: "POST",
    token,
    body: data,
    headers: { "content-type": "application/octet-stream" },
  });
  if (response.status !== 201) {
    throw new Error(`blob push answered ${response.status}: ${await response.text()}`);
  }
  return digest;
}

/** An OCI image manifest over a config and layers of random bytes (not yet pushed). */
export function randomImage(layers = 2, size = 1024) {
  const config = Buffer.from(
    JSON.stringify({ architecture: "amd64", os: "linux", n: randomBytes(4).toString("hex") }),
  );
  const layerData = Array.from({ length: layers }, () => randomBytes(size));
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: sha256(config),
      size: config.length,
    },
    layers: layerData.map((data) => ({
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: sha256(data),
      size: data.length,
    })),
  };
  return { config, layerData, manifest, bytes: Buffer.from(JSON.stringify(manifest)) };
}

/** Pushes an image's blobs and its manifest under `reference`; returns the manifest digest. */
export async function pushImage(
  registry: TestRegistry,
  repository: string,
  reference: string,
  token: string,
  image = randomImage(),
): Promise<string> {
  await pushBlob(registry, repository, image.config, token);
  for (const layer of image.layerData) await pushBlob(registry, repository, layer, token);
  const response = await registry.fetch(`/v2/${repository}/manifests/${reference}`, {
    method: "PUT",
    token,
    body: image.bytes,
    headers: { "content-type": image.manifest.mediaType },
  });
  if (response.status !== 201) {
    throw new Error(`manifest push answered ${response.status}: ${await response.text()}`);
  }
  return sha256(image.bytes);
}
