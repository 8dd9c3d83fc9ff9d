import { describe, expect, it } from "vitest";
import { registryOf, skiffRegistryAuth } from "./registry-auth.js";

describe("registryOf", () => {
  it("finds the registry host the way the Docker CLI does", () => {
    expect(registryOf("localhost:5000/team/app:1")).toBe("localhost:5000");
    expect(registryOf("localhost/app")).toBe("localhost");
    expect(registryOf("registry.example.com/app@sha256:abc")).toBe("registry.example.com");
    expect(registryOf("team/app:1")).toBeUndefined();
    expect(registryOf("busybox")).toBeUndefined();
  });
});

describe("skiffRegistryAuth", () => {
  const auth = skiffRegistryAuth(["localhost:5000", "Registry.Skiff:5000"], () => ({
    nodeId: "node_1",
    credential: "skn_secret",
  }));

  it("sends the node credential to Skiff's registries only", () => {
    expect(auth("localhost:5000/team/app:1")).toEqual({
      username: "node_1",
      password: "skn_secret",
      serveraddress: "localhost:5000",
    });
    expect(auth("registry.skiff:5000/app")?.username).toBe("node_1");
    expect(auth("evil.example.com/app")).toBeUndefined();
    expect(auth("localhost:5001/app")).toBeUndefined();
    expect(auth("busybox")).toBeUndefined();
  });
});
