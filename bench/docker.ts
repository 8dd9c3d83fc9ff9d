import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { RegisterTaskDefinition } from "@skiff/shared";

const run = promisify(execFile);

/** The test task image (scripts/build-test-images.sh): busybox, with httpd serving /www. */
export const image = "skiff-test/busybox:latest";
export const httpdCommand = ["httpd", "-f", "-p", "8080", "-h", "/www"];

/** A task definition of one busybox httpd on container port 8080, as both Docker benches run. */
export function httpdTaskDefinition(family: string, cpu: number): RegisterTaskDefinition {
  return {
    family,
    cpu,
    memory: 32,
    containers: [
      {
        name: "web",
        image,
        command: httpdCommand,
        portMappings: [{ containerPort: 8080 }],
        stopTimeoutSeconds: 1,
      },
    ],
  };
}

/** `docker [-H host] ...` with its output; throws on a non-zero exit. */
export async function docker(host: string | undefined, ...args: string[]): Promise<string> {
  const hostArgs = host ? ["-H", host] : [];
  const { stdout } = await run("docker", [...hostArgs, ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Builds the test image unless the engine has it. */
export async function ensureTestImage(): Promise<void> {
  await run("bash", ["scripts/build-test-images.sh"]);
}

/** Removes every container carrying `label` (key=value), whatever its state. */
export async function removeLabelled(host: string | undefined, label: string): Promise<void> {
  const ids = (await docker(host, "ps", "-aq", "--filter", `label=${label}`))
    .split("\n")
    .filter(Boolean);
  if (ids.length > 0) await docker(host, "rm", "-f", ...ids);
}
