import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { EgressFence } from "@skiff/agent";

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
  if (!networks) return;
  // The agent's egress fence rules of these networks go with them, as the agent's own would.
  const subnets = await docker(
    "network",
    "inspect",
    "--format",
    "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
    ...networks.split("\n"),
  ).catch(() => "");
  await docker("network", "rm", ...networks.split("\n")).catch(() => {});
  const fence = new EgressFence({ denySelf: true, denyCidrs: [], openHostPorts: [] });
  for (const subnet of subnets.split("\n").filter(Boolean))
    await fence.release(subnet).catch(() => {});
}
