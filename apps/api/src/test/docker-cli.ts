import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** `docker ...` on this host's engine, its trimmed output; throws on a non-zero exit. */
export async function docker(...args: string[]): Promise<string> {
  return (await run("docker", args)).stdout.trim();
}

/**
 * Removes what a node's agent left on this host's engine: agents leave their containers (and
 * fargate tasks' networks) running when they stop, so a test's nodes are the test's to clean.
 */
export async function removeNodeLeftovers(nodeId: string): Promise<void> {
  const ids = await docker("ps", "-aq", "--filter", `label=skiff.node=${nodeId}`);
  if (ids) await docker("rm", "-f", ...ids.split("\n")).catch(() => {});
  const networks = await docker("network", "ls", "-q", "--filter", `label=skiff.node=${nodeId}`);
  if (networks) await docker("network", "rm", ...networks.split("\n")).catch(() => {});
}
