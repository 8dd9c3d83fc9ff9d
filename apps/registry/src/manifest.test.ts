import { describe, expect, it } from "vitest";
import { digestOf } from "./digest.js";
import { mediaTypes, parseManifest } from "./manifest.js";
import { isValidName, isValidTag } from "./names.js";

const digest = digestOf(Buffer.from("x"));
const descriptor = { mediaType: "application/octet-stream", digest, size: 1 };

describe("parseManifest", () => {
  it("lists the blobs of an image manifest and the children of an index", () => {
    const image = parseManifest(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: mediaTypes.dockerManifest,
          config: descriptor,
          layers: [descriptor, { ...descriptor, urls: ["https://elsewhere"] }],
        }),
      ),
      mediaTypes.dockerManifest,
    );
    expect(image.blobs).toHaveLength(2);
    expect(image.artifactType).toBe("application/octet-stream");
    const index = parseManifest(
      Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [descriptor] })),
      mediaTypes.ociIndex,
    );
    expect(index).toMatchObject({
      mediaType: mediaTypes.ociIndex,
      blobs: [],
      children: [descriptor],
    });
  });

  it("refuses schema 1, bad digests, missing layers and a Content-Type that disagrees", () => {
    const bad = [
      [{ schemaVersion: 1, fsLayers: [] }, "application/vnd.docker.distribution.manifest.v1+json"],
      [
        { schemaVersion: 2, config: { ...descriptor, digest: "md5:00" }, layers: [] },
        mediaTypes.ociManifest,
      ],
      [
        { schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: descriptor },
        mediaTypes.ociManifest,
      ],
      [{ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [] }, mediaTypes.ociManifest],
    ] as const;
    for (const [manifest, contentType] of bad) {
      expect(() => parseManifest(Buffer.from(JSON.stringify(manifest)), contentType)).toThrow();
    }
  });
});

describe("names and tags", () => {
  it("follow the spec's grammar", () => {
    for (const name of ["a", "team/app", "a.b_c__d-e/f--g", "x1/y2/z3"]) {
      expect(isValidName(name), name).toBe(true);
    }
    for (const name of ["", "A", "a//b", "-a", "a-", "a/", "a_-b", `${"a".repeat(256)}`]) {
      expect(isValidName(name), name).toBe(false);
    }
    expect(isValidTag("v1.0_rc-1")).toBe(true);
    expect(isValidTag(".hidden")).toBe(false);
    expect(isValidTag("a".repeat(129))).toBe(false);
  });
});
