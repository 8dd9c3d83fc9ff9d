import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SkiffApiError } from "@skiff/shared";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ensureJoinToken, MissingJoinTokenError } from "./bootstrap.js";
import { parseEnv } from "./env.js";
import { createLogger } from "./lib/logger.js";
import { saveAgentState } from "./state-file.js";

const logger = createLogger("silent");
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function envWith(extra: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), "skiff-bootstrap-"));
  dirs.push(dir);
  return parseEnv({ SKIFF_API_URL: "http://api:3000", SKIFF_AGENT_STATE_DIR: dir, ...extra });
}

const joinToken = { token: "skj_made", pool: "default", expiresAt: "2030-01-01T00:00:00.000Z" };

describe("ensureJoinToken", () => {
  it("creates a join token for SKIFF_POOL with SKIFF_ADMIN_TOKEN when there is none", async () => {
    const createJoinToken = vi.fn().mockResolvedValue(joinToken);
    const env = envWith({ SKIFF_ADMIN_TOKEN: "admin-token", SKIFF_POOL: "edge" });
    const joinable = await ensureJoinToken(env, { logger, client: { createJoinToken } });
    expect(joinable.SKIFF_JOIN_TOKEN).toBe("skj_made");
    expect(createJoinToken).toHaveBeenCalledWith("edge", expect.any(Number), 1);
  });

  it("leaves a given join token or a saved registration alone", async () => {
    const createJoinToken = vi.fn();
    const given = envWith({ SKIFF_JOIN_TOKEN: "skj_given", SKIFF_ADMIN_TOKEN: "admin-token" });
    expect(await ensureJoinToken(given, { logger, client: { createJoinToken } })).toBe(given);
    const registered = envWith({ SKIFF_ADMIN_TOKEN: "admin-token" });
    await saveAgentState(registered.SKIFF_AGENT_STATE_DIR, {
      nodeId: "node_1",
      credential: "skn_x",
      pool: "default",
      heartbeatIntervalSeconds: 5,
      apiUrl: "http://api:3000",
    });
    expect(await ensureJoinToken(registered, { logger, client: { createJoinToken } })).toBe(
      registered,
    );
    expect(createJoinToken).not.toHaveBeenCalled();
  });

  it("says what to set when there is no way to join", async () => {
    await expect(ensureJoinToken(envWith({}), { logger })).rejects.toThrow(MissingJoinTokenError);
    await expect(ensureJoinToken(envWith({}), { logger })).rejects.toThrow(/SKIFF_JOIN_TOKEN/);
  });

  it("retries while the api is unreachable, but not when it refuses the admin token", async () => {
    const createJoinToken = vi
      .fn()
      .mockRejectedValueOnce(new TypeError("fetch failed"))
      .mockResolvedValue(joinToken);
    const env = envWith({ SKIFF_ADMIN_TOKEN: "admin-token" });
    // One real backoff step (at most 500 ms).
    const joined = await ensureJoinToken(env, { logger, client: { createJoinToken } });
    expect(joined.SKIFF_JOIN_TOKEN).toBe("skj_made");
    expect(createJoinToken).toHaveBeenCalledTimes(2);
    const refused = vi
      .fn()
      .mockRejectedValue(new SkiffApiError(401, "Unauthorized", "bad token", undefined));
    await expect(
      ensureJoinToken(env, { logger, client: { createJoinToken: refused } }),
    ).rejects.toThrow(/SKIFF_ADMIN_TOKEN: .*bad token/);
    expect(refused).toHaveBeenCalledTimes(1);
  });
});
