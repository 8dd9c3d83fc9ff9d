import type { RegisterTaskDefinition, SkiffClient, Task } from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AllInOne, startAllInOne } from "../test/all-in-one.js";
import { docker } from "../test/docker-cli.js";
import { waitFor } from "../test/wait.js";

// The whole path a user takes: the real api process with its local agent on this host's Docker
// engine, driven through the typed client, checked against what Docker itself shows.
const image = "skiff-test/busybox:latest";
const adminToken = "e2e-admin-token-0123456789abcdef";

let stack: AllInOne;
let client: SkiffClient;
let nodeId = "";

beforeAll(async () => {
  stack = await startAllInOne("e2e", adminToken);
  client = stack.client;
  nodeId = stack.nodes.find((node) => node.pool === "default")?.id ?? "";
});

afterAll(() => stack?.stop());

async function waitForStatus(id: string, status: Task["status"], timeoutMs = 15_000) {
  return waitFor(`task ${id} ${status}`, timeoutMs, async () => {
    const task = await client.getTask(id);
    if (task.status === status) return task;
    if (task.status === "stopped") {
      throw new Error(`task stopped while waiting for ${status}: ${JSON.stringify(task)}`);
    }
    return undefined;
  });
}

type ContainerFields = Omit<RegisterTaskDefinition["containers"][number], "name" | "image">;

async function runOne(family: string, container: ContainerFields): Promise<Task> {
  await client.registerTaskDefinition({
    family,
    cpu: 128,
    memory: 64,
    containers: [{ name: "main", image, ...container }],
  });
  const [task] = await client.runTask({ taskDefinition: family, pool: "default" });
  if (!task) throw new Error("runTask started no task");
  return task;
}

describe("tasks on the all-in-one local agent", () => {
  it("runs an httpd task on a host port, labels its container, and stops it", async () => {
    const task = await runOne("e2e-httpd", {
      command: ["httpd", "-f", "-p", "8080", "-h", "/www"],
      portMappings: [{ containerPort: 8080 }],
      // httpd as PID 1 ignores SIGTERM: without this the stop waits out Docker's whole timeout.
      stopTimeoutSeconds: 1,
    });
    const running = await waitForStatus(task.id, "running");
    expect(running.nodeId).toBe(nodeId);
    const hostPort = running.containers[0]?.hostPorts[0]?.hostPort;
    expect(hostPort, JSON.stringify(running)).toBeGreaterThan(0);
    const body = await waitFor("an httpd answer", 5_000, () =>
      fetch(`http://127.0.0.1:${hostPort}/`).then(
        (response) => response.text(),
        () => undefined,
      ),
    );
    expect(body.trim()).toBe("ok");

    const listed = await docker(
      "ps",
      "--filter",
      `label=skiff.task=${task.id}`,
      "--format",
      '{{.Label "skiff.task"}} {{.Label "skiff.family"}} {{.Label "skiff.node"}}',
    );
    expect(listed.split("\n")).toEqual([`${task.id} e2e-httpd ${nodeId}`]);

    await client.stopTask(task.id);
    const stopped = await waitForStatus(task.id, "stopped");
    expect(stopped.stopCode).toBe("UserInitiated");
    await waitFor("the container removed", 5_000, async () =>
      (await docker("ps", "-aq", "--filter", `label=skiff.task=${task.id}`)) === ""
        ? true
        : undefined,
    );
  });

  it("stops a task whose image does not exist with TaskFailedToStart, naming the image", async () => {
    const missing = "skiff-test/does-not-exist:latest";
    await client.registerTaskDefinition({
      family: "e2e-missing-image",
      cpu: 128,
      memory: 64,
      containers: [{ name: "main", image: missing }],
    });
    const [task] = await client.runTask({ taskDefinition: "e2e-missing-image" });
    const stopped = await waitFor("the task stopped", 15_000, async () => {
      const current = await client.getTask(task?.id ?? "");
      return current.status === "stopped" ? current : undefined;
    });
    expect(stopped.stopCode, JSON.stringify(stopped)).toBe("TaskFailedToStart");
    expect(stopped.stoppedReason).toContain(missing);
  });

  it("stops a task whose essential container exits with EssentialContainerExited", async () => {
    const task = await runOne("e2e-exit-3", { command: ["sh", "-c", "exit 3"] });
    const stopped = await waitFor("the task stopped", 15_000, async () => {
      const current = await client.getTask(task.id);
      return current.status === "stopped" ? current : undefined;
    });
    expect(stopped.stopCode, JSON.stringify(stopped)).toBe("EssentialContainerExited");
    expect(stopped.containers[0]?.exitCode).toBe(3);
  });

  it("shows what a task's container writes in its logs within seconds", async () => {
    const task = await runOne("e2e-logs", {
      command: ["sh", "-c", "echo hello-from-task; echo oops-on-stderr >&2; sleep 30"],
      stopTimeoutSeconds: 1,
    });
    const lines = await waitFor("hello-from-task in the task's logs", 10_000, async () => {
      const { lines } = await client.taskLogs(task.id);
      return lines.some((line) => line.text === "hello-from-task") ? lines : undefined;
    });
    expect(lines.find((line) => line.text === "hello-from-task")).toMatchObject({
      container: "main",
      stream: "stdout",
    });
    await waitFor("the stderr line", 5_000, async () => {
      const { lines } = await client.taskLogs(task.id);
      return lines.find((line) => line.text === "oops-on-stderr" && line.stream === "stderr");
    });
    await client.stopTask(task.id);
  });

  it("charts a busy task's cpu and memory, and its node's", async () => {
    const task = await runOne("e2e-busy", {
      command: ["sh", "-c", "while :; do :; done"],
      stopTimeoutSeconds: 1,
    });
    await waitForStatus(task.id, "running");
    // cpu needs two heartbeats (5 s apart by default): usage is a difference of counters. The
    // task asked for 128 cpu units, an eighth of a core, and its cpu quota holds it there.
    const busy = await waitFor("a task sample of a busy, capped task", 20_000, async () => {
      const { points } = await client.taskStats(task.id);
      return points.find((point) => point.cpuPercent > 5);
    });
    expect(busy.cpuPercent, JSON.stringify(busy)).toBeGreaterThan(9);
    expect(busy.cpuPercent, JSON.stringify(busy)).toBeLessThan(15);
    expect(busy.memory, JSON.stringify(busy)).toBeGreaterThan(0);
    const { points } = await client.nodeStats(nodeId);
    expect(points.length, JSON.stringify(points)).toBeGreaterThan(0);
    expect(points.at(-1)?.memory).toBeGreaterThan(0);
    await client.stopTask(task.id);
  });
});
