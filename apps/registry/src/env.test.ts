import { describe, expect, it } from "vitest";
import { blobStoreConfig, parseEnv } from "./env.js";

const base = { DATABASE_URL: "postgres://x@127.0.0.1/x" };

describe("registry storage settings", () => {
  it("keeps blobs on the filesystem unless told otherwise", () => {
    const env = parseEnv(base);
    expect(blobStoreConfig(env, "/data")).toEqual({ kind: "fs", dataDir: "/data" });
  });

  it("reads every S3 setting", () => {
    const env = parseEnv({
      ...base,
      SKIFF_REGISTRY_STORAGE: "s3",
      SKIFF_REGISTRY_S3_BUCKET: "blobs",
      SKIFF_REGISTRY_S3_ENDPOINT: "http://minio:9000",
      SKIFF_REGISTRY_S3_PUBLIC_ENDPOINT: "http://localhost:9000",
      SKIFF_REGISTRY_S3_REGION: "eu-west-1",
      SKIFF_REGISTRY_S3_ACCESS_KEY_ID: "key",
      SKIFF_REGISTRY_S3_SECRET_ACCESS_KEY: "secret",
      SKIFF_REGISTRY_S3_FORCE_PATH_STYLE: "true",
      SKIFF_REGISTRY_S3_PREFIX: "registry/",
      SKIFF_REGISTRY_S3_PULL: "stream",
    });
    expect(blobStoreConfig(env, "/data")).toEqual({
      kind: "s3",
      bucket: "blobs",
      endpoint: "http://minio:9000",
      publicEndpoint: "http://localhost:9000",
      region: "eu-west-1",
      accessKeyId: "key",
      secretAccessKey: "secret",
      forcePathStyle: true,
      prefix: "registry/",
      pull: "stream",
    });
  });

  it("takes compose's empty pass-through values as unset", () => {
    const env = parseEnv({
      ...base,
      SKIFF_REGISTRY_STORAGE: "s3",
      SKIFF_REGISTRY_S3_BUCKET: "blobs",
      SKIFF_REGISTRY_S3_ENDPOINT: "",
      SKIFF_REGISTRY_S3_PUBLIC_ENDPOINT: "",
      SKIFF_REGISTRY_S3_ACCESS_KEY_ID: "",
      SKIFF_REGISTRY_S3_SECRET_ACCESS_KEY: "",
      SKIFF_REGISTRY_S3_FORCE_PATH_STYLE: "false",
      SKIFF_REGISTRY_S3_PREFIX: "",
    });
    expect(blobStoreConfig(env, "/data")).toEqual({
      kind: "s3",
      bucket: "blobs",
      region: "us-east-1",
      forcePathStyle: false,
      prefix: "",
      pull: "redirect",
    });
  });

  it("names what is missing or wrong", () => {
    const s3 = { ...base, SKIFF_REGISTRY_STORAGE: "s3" };
    expect(() => blobStoreConfig(parseEnv(s3), "/d")).toThrow(/SKIFF_REGISTRY_S3_BUCKET/);
    expect(() =>
      blobStoreConfig(
        parseEnv({ ...s3, SKIFF_REGISTRY_S3_BUCKET: "b", SKIFF_REGISTRY_S3_ACCESS_KEY_ID: "k" }),
        "/d",
      ),
    ).toThrow(/set both or neither/);
    expect(() => parseEnv({ ...s3, SKIFF_REGISTRY_S3_PULL: "proxy" })).toThrow(
      /SKIFF_REGISTRY_S3_PULL/,
    );
    expect(() => parseEnv({ ...s3, SKIFF_REGISTRY_S3_PREFIX: "a b" })).toThrow(
      /SKIFF_REGISTRY_S3_PREFIX/,
    );
    expect(() => parseEnv({ ...base, SKIFF_REGISTRY_STORAGE: "gcs" })).toThrow(
      /SKIFF_REGISTRY_STORAGE/,
    );
  });
});
