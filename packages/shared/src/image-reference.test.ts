import { describe, expect, it } from "vitest";
import { parseImageReference } from "./image-reference.js";

const digest = `sha256:${"a".repeat(64)}`;

describe("parseImageReference", () => {
  it("finds the registry host the way the Docker CLI does", () => {
    expect(parseImageReference("localhost:5000/team/app:1")).toEqual({
      registry: "localhost:5000",
      repository: "team/app",
      tag: "1",
    });
    expect(parseImageReference("localhost/app")).toEqual({
      registry: "localhost",
      repository: "app",
    });
    expect(parseImageReference("registry.example.com/app@sha256:abc")).toEqual({
      registry: "registry.example.com",
      repository: "app",
      digest: "sha256:abc",
    });
    expect(parseImageReference(`10.0.0.5:5000/app@${digest}`)).toEqual({
      registry: "10.0.0.5:5000",
      repository: "app",
      digest,
    });
    expect(parseImageReference("localhost:5000/team/app:v1@sha256:abc")).toEqual({
      registry: "localhost:5000",
      repository: "team/app",
      tag: "v1",
      digest: "sha256:abc",
    });
  });

  it("has no registry for Docker Hub names", () => {
    expect(parseImageReference("busybox")).toEqual({ repository: "busybox" });
    expect(parseImageReference("nginx:1")).toEqual({ repository: "nginx", tag: "1" });
    expect(parseImageReference("team/app:1")).toEqual({ repository: "team/app", tag: "1" });
    expect(parseImageReference(`nginx@${digest}`)).toEqual({ repository: "nginx", digest });
    expect(parseImageReference("skiff-test/busybox:latest").registry).toBeUndefined();
  });
});
