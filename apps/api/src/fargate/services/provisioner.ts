import { spawn } from "node:child_process";

/** What Skiff asks the operator's provisioner for. */
export type ProvisionRequest =
  | {
      action: "scale-out";
      pool: string;
      /** How many nodes are missing. */
      count: number;
      /** The size of each, in cpu units and MiB (SKIFF_FARGATE_NODE_CPU / _MEMORY). */
      node: { cpu: number; memory: number };
      /** Agents of the new nodes join with this (SKIFF_JOIN_TOKEN), at apiUrl (SKIFF_API_URL). */
      joinToken: string;
      apiUrl: string;
    }
  | {
      action: "scale-in";
      pool: string;
      /** Idle nodes, already drained; Skiff deregisters them once the provisioner says done. */
      nodes: { id: string; name: string; address: string }[];
    };

/** Carries out a request; resolves once the operator's side accepted it, else throws. */
export interface Provisioner {
  provision(request: ProvisionRequest): Promise<void>;
}

const timeoutMs = 120_000;

/**
 * Runs the operator's command through `sh -c`, the request as JSON on its stdin. Exit code 0
 * means done; anything else (or no end within two minutes) fails the request, retried later.
 */
export class CommandProvisioner implements Provisioner {
  constructor(private readonly command: string) {}

  provision(request: ProvisionRequest): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn("sh", ["-c", this.command], { stdio: ["pipe", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk) => {
        if (stderr.length < 4096) stderr += chunk;
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      child.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else
          reject(
            new Error(`provisioner exited with ${signal ?? code}: ${stderr.trim().slice(0, 500)}`),
          );
      });
      // A command may exit without reading its stdin: the write then fails with EPIPE, which
      // would otherwise be an uncaught exception. The exit code alone says how it went.
      child.stdin.on("error", () => {});
      child.stdin.end(JSON.stringify(request));
    });
  }
}

/** POSTs the request as JSON to the operator's webhook; any 2xx means done. */
export class WebhookProvisioner implements Provisioner {
  constructor(private readonly url: string) {}

  async provision(request: ProvisionRequest): Promise<void> {
    const response = await fetch(this.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) {
      const text = (await response.text().catch(() => "")).slice(0, 500);
      throw new Error(`provisioner webhook answered ${response.status}: ${text}`);
    }
  }
}
