import { describe, expect, it } from "vitest";
import { dockerConfigAuth, firstAuth, skiffRegistryAuth } from "./registry-auth.js";

describe("skiffRegistryAuth", () => {
  const addresses = ["localhost:5000", "Registry.Skiff:5000"];
  const auth = skiffRegistryAuth(
    () => addresses,
    () => ({
      nodeId: "node_1",
      credential: "skn_secret",
    }),
  );

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

  it("takes in an address the api advertises later", () => {
    expect(auth("registry.example.com:5000/app")).toBeUndefined();
    addresses.push("registry.example.com:5000");
    expect(auth("registry.example.com:5000/app")?.username).toBe("node_1");
  });
});

describe("dockerConfigAuth", () => {
  const config = JSON.stringify({
    auths: {
      "registry.example.com": { auth: Buffer.from("deploy:pa:ss").toString("base64") },
      "https://ghcr.example.org/v1/": { username: "bot", password: "token" },
      "https://index.docker.io/v1/": { auth: Buffer.from("hubuser:hubpass").toString("base64") },
    },
  });
  const auth = dockerConfigAuth(() => config);

  it("uses the login of the image's registry, as docker would", () => {
    expect(auth("registry.example.com/team/app:1")).toEqual({
      username: "deploy",
      password: "pa:ss",
      serveraddress: "registry.example.com",
    });
    expect(auth("ghcr.example.org/app")?.username).toBe("bot");
    expect(auth("team/app")?.username).toBe("hubuser");
    expect(auth("other.example.com/app")).toBeUndefined();
  });

  it("gives nothing for a missing or broken file", () => {
    expect(dockerConfigAuth(() => undefined)("registry.example.com/app")).toBeUndefined();
    expect(dockerConfigAuth(() => "{not json")("registry.example.com/app")).toBeUndefined();
  });

  it("comes after Skiff's own registries, whose node credential it never replaces", () => {
    const both = firstAuth(
      skiffRegistryAuth(
        () => ["localhost:5000"],
        () => ({ nodeId: "node_1", credential: "skn" }),
      ),
      dockerConfigAuth(() => JSON.stringify({ auths: { "localhost:5000": { auth: "eDp5" } } })),
    );
    expect(both("localhost:5000/app")?.username).toBe("node_1");
  });
});
