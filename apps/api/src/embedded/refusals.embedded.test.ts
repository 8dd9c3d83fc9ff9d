import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

// What cannot work on the embedded database refuses at start, in one line, instead of
// half-running: a registry or a gateway as processes of their own need the api's PostgreSQL
// (and Redis); PGlite lives inside the api's process.
const registryMain = fileURLToPath(new URL("../../../registry/dist/main.js", import.meta.url));
const gatewayMain = fileURLToPath(new URL("../../dist/gateway-main.js", import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs `script` with only PATH and `env`; resolves with its exit code and what it printed. */
function runToExit(script: string, env: Record<string, string>) {
  const cwd = mkdtempSync(join(tmpdir(), "skiff-refusal-"));
  dirs.push(cwd);
  const child = spawn(process.execPath, [script], {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  return new Promise<{ code: number | null; lines: string[] }>((done) =>
    child.once("exit", (code) => done({ code, lines: output.trim().split("\n") })),
  );
}

describe("processes that need PostgreSQL, started without it", () => {
  it("the registry on its own exits 1 with one line naming DATABASE_URL and the built-in registry", async () => {
    const { code, lines } = await runToExit(registryMain, { SKIFF_REGISTRY_PORT: "0" });
    expect(code, lines.join("\n")).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/DATABASE_URL/);
    expect(lines[0]).toMatch(/PostgreSQL/);
    expect(lines[0]).toMatch(/SKIFF_REGISTRY_PORT/);
  });

  it("the gateway on its own exits 1 with one line naming what is missing and the built-in gateway", async () => {
    const { code, lines } = await runToExit(gatewayMain, { SKIFF_GATEWAY_PORT: "0" });
    expect(code, lines.join("\n")).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/DATABASE_URL and REDIS_URL/);
    expect(lines[0]).toMatch(/SKIFF_GATEWAY_PORT/);
  });
});
