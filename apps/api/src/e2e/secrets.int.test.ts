import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SkiffClient } from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AllInOne, startAllInOne } from "../test/all-in-one.js";
import { waitFor } from "../test/wait.js";

// A secret's whole path: stored through the API, named by a task definition, delivered by the
// real api process to its real local agent, and seen by the container as an env variable.
const image = "skiff-test/busybox:latest";
const adminToken = "e2e-secrets-admin-token-0123456789";
const value = `pw-${Math.random().toString(36).slice(2)}-end`;

let stack: AllInOne;
let client: SkiffClient;
let dataDir = "";

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "skiff-e2e-secrets-data-"));
  // debug: whatever the api and its agent log, none of it may hold the value.
  stack = await startAllInOne("e2e-secrets", adminToken, {
    SKIFF_DATA_DIR: dataDir,
    LOG_LEVEL: "debug",
  });
  client = stack.client;
});

afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("secrets on a real agent", () => {
  it("delivers a secret into the container's env, and logs it nowhere else", async () => {
    await client.createSecret({ name: "e2e-password", value });
    await client.registerTaskDefinition({
      family: "e2e-secret-echo",
      cpu: 128,
      memory: 64,
      containers: [
        {
          name: "main",
          image,
          secrets: [{ name: "APP_PASSWORD", valueFrom: "e2e-password" }],
          command: [
            "sh",
            "-c",
            // The value split in two quoted halves, so the definition itself does not hold it.
            `echo "got:$APP_PASSWORD"; test "$APP_PASSWORD" = "${value.slice(0, 5)}""${value.slice(5)}" && exit 7; exit 3`,
          ],
        },
      ],
    });
    const [task] = await client.runTask({ taskDefinition: "e2e-secret-echo", pool: "default" });
    const stopped = await waitFor("the task stopped", 20_000, async () => {
      const current = await client.getTask(task?.id ?? "");
      return current.status === "stopped" ? current : undefined;
    });
    // 7: the container saw exactly the value; 3: it saw something else.
    expect(stopped.containers[0]?.exitCode, JSON.stringify(stopped)).toBe(7);
    const { lines } = await waitFor("the echo in the task's logs", 10_000, async () => {
      const logs = await client.taskLogs(stopped.id);
      return logs.lines.some((line) => line.text.startsWith("got:")) ? logs : undefined;
    });
    expect(lines.map((line) => line.text)).toContain(`got:${value}`);

    // Readers of the task and its definition see the reference only.
    const definition = await client.getTaskDefinition("e2e-secret-echo");
    expect(JSON.stringify(definition)).not.toContain(value);
    expect(JSON.stringify(stopped)).not.toContain(value);

    // The api (and its local agent) logged the run, at debug, and never the value.
    const output = stack.skiff.output();
    expect(output).toContain(stopped.id);
    expect(output).not.toContain(value);
    // Without SKIFF_SECRETS_KEY on PostgreSQL: a key file of mode 0600, and a warning saying so.
    expect(statSync(join(dataDir, "secrets.key")).mode & 0o777).toBe(0o600);
    expect(output).toContain("SKIFF_SECRETS_KEY is unset");
  });
});
