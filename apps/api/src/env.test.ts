import { describe, expect, it } from "vitest";
import { parseEnv } from "./env.js";

describe("parseEnv", () => {
  it("defaults to the all-in-one setup", () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ PORT: 3000, SKIFF_DATA_DIR: "./.skiff", LOG_LEVEL: "info" });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.REDIS_URL).toBeUndefined();
  });

  it("treats blank URLs as unset, as compose passes them", () => {
    expect(parseEnv({ DATABASE_URL: "  ", REDIS_URL: "" }).DATABASE_URL).toBeUndefined();
  });

  it("runs a local agent by default only in the all-in-one setup", () => {
    expect(parseEnv({}).SKIFF_LOCAL_AGENT).toBe(true);
    expect(parseEnv({ DATABASE_URL: "postgres://db/skiff" }).SKIFF_LOCAL_AGENT).toBe(false);
    expect(
      parseEnv({ DATABASE_URL: "postgres://db/skiff", SKIFF_LOCAL_AGENT: "true" })
        .SKIFF_LOCAL_AGENT,
    ).toBe(true);
    expect(parseEnv({ SKIFF_LOCAL_AGENT: "false" }).SKIFF_LOCAL_AGENT).toBe(false);
  });

  it("logs API requests through the gateway unless told not to", () => {
    expect(parseEnv({}).SKIFF_GATEWAY_ACCESS_LOG).toBe(true);
    expect(parseEnv({ SKIFF_GATEWAY_ACCESS_LOG: "" }).SKIFF_GATEWAY_ACCESS_LOG).toBe(true);
    expect(parseEnv({ SKIFF_GATEWAY_ACCESS_LOG: "false" }).SKIFF_GATEWAY_ACCESS_LOG).toBe(false);
    expect(() => parseEnv({ SKIFF_GATEWAY_ACCESS_LOG: "maybe" })).toThrow(
      /SKIFF_GATEWAY_ACCESS_LOG/,
    );
  });

  it("names the variable that is wrong", () => {
    expect(() => parseEnv({ PORT: "http" })).toThrow(/PORT/);
    expect(() => parseEnv({ SKIFF_ADMIN_TOKEN: "short" })).toThrow(
      /SKIFF_ADMIN_TOKEN: must be at least 24/,
    );
    expect(() => parseEnv({ LOG_LEVEL: "loud" })).toThrow(/LOG_LEVEL/);
  });
});
