import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

/** What the agent must remember across restarts: who it is and how it proves it. */
export const agentStateSchema = z.object({
  nodeId: z.string().min(1),
  credential: z.string().min(1),
  pool: z.string(),
  heartbeatIntervalSeconds: z.number().positive(),
  /** The api the node registered with; a different SKIFF_API_URL means another cluster. */
  apiUrl: z.string(),
  /** The install the node joined (`skiff.cluster` on its containers); absent from older apis. */
  clusterId: z.string().optional(),
});
export type AgentState = z.infer<typeof agentStateSchema>;

/** Path of the state file inside the state directory. */
export function stateFilePath(stateDir: string): string {
  return join(stateDir, "node.json");
}

/** The saved state, or null when the node never registered. A corrupt file throws. */
export async function loadAgentState(stateDir: string): Promise<AgentState | null> {
  let text: string;
  try {
    text = await readFile(stateFilePath(stateDir), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  return agentStateSchema.parse(JSON.parse(text));
}

/**
 * Saves the state readable by its owner only (it holds the credential), through a rename so a
 * crash mid-write never leaves half a file.
 */
export async function saveAgentState(stateDir: string, state: AgentState): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = stateFilePath(stateDir);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}
