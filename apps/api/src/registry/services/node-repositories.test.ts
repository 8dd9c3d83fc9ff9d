import { describe, expect, it } from "vitest";
import { registryRepositoryOf } from "./node-repositories.js";

describe("registryRepositoryOf", () => {
  it("takes the repository path of an image in a registry named by host", () => {
    expect(registryRepositoryOf("localhost:5000/team/app:v1")).toBe("team/app");
    expect(registryRepositoryOf("registry.example:443/app")).toBe("app");
    expect(registryRepositoryOf("localhost/team/app")).toBe("team/app");
    expect(registryRepositoryOf(`10.0.0.5:5000/app@sha256:${"a".repeat(64)}`)).toBe("app");
    expect(registryRepositoryOf("localhost:5000/team/app:v1@sha256:abc")).toBe("team/app");
  });

  it("has none for Docker Hub images, which cannot be in Skiff's registry", () => {
    for (const image of ["nginx", "nginx:1", "team/app:v1", "skiff-test/busybox:latest"]) {
      expect(registryRepositoryOf(image), image).toBeUndefined();
    }
  });
});
