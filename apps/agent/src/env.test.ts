import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { capacityFrom, hostShareFor } from "./agent.js";
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

describe("two nodes on one host (compose's agent and agent-fargate)", () => {
  const host = { cpus: 4, memoryBytes: 8192 * 1024 * 1024 };

  it("splits the host by SKIFF_LOCAL_FARGATE_SHARE so the two never both claim all of it", () => {
    const fargate = parseEnv({
      SKIFF_API_URL: "http://a",
      SKIFF_POOL: "fargate",
      SKIFF_LOCAL_FARGATE_SHARE: "0.25",
      SKIFF_RESERVED_MEMORY: "0",
    });
    const pool = parseEnv({ SKIFF_API_URL: "http://a", SKIFF_LOCAL_FARGATE_SHARE: "0.25" });
    const share = (env: typeof pool) => hostShareFor(env.SKIFF_POOL, env.SKIFF_LOCAL_FARGATE_SHARE);
    const reserve = (env: typeof pool) => ({
      cpu: env.SKIFF_RESERVED_CPU,
      memory: env.SKIFF_RESERVED_MEMORY,
    });
    expect(capacityFrom(host, reserve(fargate), share(fargate))).toEqual({
      cpu: 1024,
      memory: 2048,
    });
    expect(capacityFrom(host, reserve(pool), share(pool))).toEqual({ cpu: 3072, memory: 5888 });
    // Alone on its host (the default): all of it.
    expect(hostShareFor("fargate", 0)).toBe(1);
    expect(() => parseEnv({ SKIFF_API_URL: "http://a", SKIFF_LOCAL_FARGATE_SHARE: "1" })).toThrow(
      /SKIFF_LOCAL_FARGATE_SHARE/,
    );
  });

  it("names a pool fargate node apart from the host's pool default node", () => {
    expect(parseEnv({ SKIFF_API_URL: "http://a", SKIFF_POOL: "fargate" }).SKIFF_NODE_NAME).toBe(
      `${hostname()}-fargate`,
    );
    expect(
      parseEnv({ SKIFF_API_URL: "http://a", SKIFF_POOL: "fargate", SKIFF_NODE_NAME: "n1" })
        .SKIFF_NODE_NAME,
    ).toBe("n1");
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
