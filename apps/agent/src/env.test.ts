import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { parseAttributes, parseEnv } from "./env.js";

describe("parseEnv", () => {
  it("needs only the api URL", () => {
    const env = parseEnv({ SKIFF_API_URL: "http://api:3000" });
    expect(env).toMatchObject({
      SKIFF_AGENT_STATE_DIR: "./.skiff-agent",
      SKIFF_NODE_NAME: hostname(),
      SKIFF_RESERVED_CPU: 0,
      SKIFF_RESERVED_MEMORY: 256,
      SKIFF_NODE_ATTRIBUTES: {},
      LOG_LEVEL: "info",
    });
    expect(env.SKIFF_JOIN_TOKEN).toBeUndefined();
    expect(env.DOCKER_HOST).toBeUndefined();
  });

  it("names the variable that is wrong", () => {
    expect(() => parseEnv({})).toThrow(/SKIFF_API_URL/);
    expect(() => parseEnv({ SKIFF_API_URL: "http://a", SKIFF_RESERVED_MEMORY: "lots" })).toThrow(
      /SKIFF_RESERVED_MEMORY/,
    );
    expect(() => parseEnv({ SKIFF_API_URL: "http://a", SKIFF_NODE_ATTRIBUTES: "zone" })).toThrow(
      /SKIFF_NODE_ATTRIBUTES: "zone" is not key=value/,
    );
  });
});

describe("parseAttributes", () => {
  it("reads a comma list of key=value, trimming blanks", () => {
    expect(parseAttributes(" zone=eu-1, disk=ssd ,, gpu= ")).toEqual({
      zone: "eu-1",
      disk: "ssd",
      gpu: "",
    });
    expect(parseAttributes("url=a=b")).toEqual({ url: "a=b" });
  });

  it("refuses keys the api would refuse", () => {
    expect(() => parseAttributes("bad key=1")).toThrow(/not a valid attribute key/);
  });
});
