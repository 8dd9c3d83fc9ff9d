import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CommandProvisioner, type ProvisionRequest } from "./provisioner.js";

const dir = mkdtempSync(join(tmpdir(), "skiff-provisioner-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const request: ProvisionRequest = {
  action: "scale-in",
  pool: "fargate",
  nodes: [{ id: "node_1", name: "n1", address: "10.0.0.1" }],
};

describe("CommandProvisioner", () => {
  it("hands the request to the command as JSON on stdin", async () => {
    const file = join(dir, "request.json");
    await new CommandProvisioner(`cat > '${file}'`).provision(request);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(request);
  });

  it("takes exit 0 from a command that never reads its stdin", async () => {
    // More than a pipe holds, so the write is still going when the command has exited.
    const big: ProvisionRequest = {
      ...request,
      nodes: Array.from({ length: 4000 }, (_, i) => ({
        id: `node_${i}`,
        name: `n${i}`,
        address: "10.0.0.1",
      })),
    };
    await new CommandProvisioner("exit 0").provision(big);
  });

  it("fails with the command's stderr when it exits non-zero", async () => {
    await expect(
      new CommandProvisioner("echo 'no capacity left' >&2; exit 3").provision(request),
    ).rejects.toThrow(/exited with 3: no capacity left/);
  });
});
