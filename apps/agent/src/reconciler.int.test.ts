import { randomUUID } from "node:crypto";
import { createServer, type Socket } from "node:net";
import type { Assignment, Assignments, ContainerDefinition, TaskReport } from "@skiff/shared";
import Docker from "dockerode";
import { afterEach, describe, expect, it } from "vitest";
import { type ContainerRuntime, labels } from "./container-runtime.js";
import { DockerRuntime } from "./docker-runtime.js";
import { LogShipper } from "./log-shipper.js";
import { Reconciler } from "./reconciler.js";

const image = "skiff-test/busybox:latest";
const docker = new Docker();
const runtime: ContainerRuntime = new DockerRuntime({ docker });
const nodeIds: string[] = [];

afterEach(async () => {
  // docker rm -f by label: whatever a test left behind, even after a failed assertion.
  for (const nodeId of nodeIds.splice(0)) {
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${labels.node}=${nodeId}`] },
    });
    await Promise.all(
      left.map((container) => docker.getContainer(container.Id).remove({ force: true })),
    );
  }
});

/** A node id of its own per test, so tests running side by side never see each other's labels. */
function newNodeId(): string {
  const nodeId = `node_test_${randomUUID().slice(0, 8)}`;
  nodeIds.push(nodeId);
  return nodeId;
}

function container(overrides: Partial<ContainerDefinition> = {}): ContainerDefinition {
  return { name: "main", image, essential: true, stopTimeoutSeconds: 1, ...overrides };
}

function assignment(overrides: Partial<Assignment> = {}): Assignment {
  return {
    taskId: `task_${randomUUID().slice(0, 12)}`,
    desiredStatus: "running",
    family: "web",
    revision: 1,
    service: null,
    launchType: "pool",
    cpu: 256,
    memory: 64,
    containers: [container()],
    ...overrides,
  };
}

function assignmentsOf(...list: Assignment[]): Assignments {
  return { index: 1, nodeState: "active", assignments: list };
}

/** A reconciler whose reports land in `reports`, as the api would receive them. */
function newReconciler(nodeId: string, pullTimeoutMs?: number) {
  const reports: { taskId: string; report: TaskReport }[] = [];
  const errors: unknown[] = [];
  const reconciler = new Reconciler({
    nodeId,
    runtime,
    reportTask: async (taskId, report) => {
      reports.push({ taskId, report });
    },
    intervalMs: 200,
    onError: (error) => errors.push(error),
    ...(pullTimeoutMs ? { pullTimeoutMs } : {}),
  });
  return { reconciler, reports, errors };
}

async function containersOf(nodeId: string, taskId?: string) {
  const wanted: Record<string, string> = { [labels.node]: nodeId };
  if (taskId) wanted[labels.task] = taskId;
  return runtime.listContainers(wanted);
}

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

describe("Reconciler against the Docker engine", () => {
  it("runs an httpd task on an ephemeral port, adopts it after a restart, stops it", async () => {
    const nodeId = newNodeId();
    const task = assignment({
      service: "web-svc",
      containers: [
        container({
          name: "httpd",
          command: ["httpd", "-f", "-p", "8080", "-h", "/www"],
          portMappings: [{ containerPort: 8080, protocol: "tcp" }],
        }),
      ],
    });
    const { reconciler, reports, errors } = newReconciler(nodeId);
    reconciler.setAssignments(assignmentsOf(task));
    await reconciler.reconcileOnce();

    expect(errors).toEqual([]);
    expect(reports.map((entry) => entry.report.status)).toEqual(["pending", "running"]);
    const running = reports[1]!.report;
    const hostPort = running.containers[0]!.hostPorts[0]!.hostPort;
    expect(running.containers[0]).toMatchObject({
      name: "httpd",
      status: "running",
      containerId: expect.any(String),
      hostPorts: [{ containerPort: 8080, hostPort: expect.any(Number), protocol: "tcp" }],
    });

    const [created] = await containersOf(nodeId);
    expect(created?.name).toBe(`skiff-${task.taskId}-httpd`);
    expect(created?.labels).toMatchObject({
      "skiff.task": task.taskId,
      "skiff.family": "web",
      "skiff.node": nodeId,
      "skiff.container": "httpd",
      "skiff.service": "web-svc",
    });
    const body = await eventually(
      () =>
        fetch(`http://127.0.0.1:${hostPort}/`)
          .then((response) => response.text())
          .catch(() => ""),
      (text) => text.trim() === "ok",
    );
    expect(body.trim()).toBe("ok");

    const inspected = await docker.getContainer(running.containers[0]!.containerId!).inspect();
    expect(inspected.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(inspected.HostConfig.MemorySwap).toBe(64 * 1024 * 1024);

    // A second pass changes nothing and sends nothing.
    await reconciler.reconcileOnce();
    expect(reports).toHaveLength(2);

    // A restarted agent adopts the container: no duplicate, the same container reported running.
    const restarted = newReconciler(nodeId);
    restarted.reconciler.setAssignments(assignmentsOf(task));
    await restarted.reconciler.reconcileOnce();
    await restarted.reconciler.reconcileOnce();
    expect(await containersOf(nodeId)).toHaveLength(1);
    expect(restarted.reports.map((entry) => entry.report)).toEqual([running]);

    restarted.reconciler.setAssignments(assignmentsOf({ ...task, desiredStatus: "stopped" }));
    await restarted.reconciler.reconcileOnce();
    expect(restarted.errors).toEqual([]);
    const stopped = restarted.reports.at(-1)!.report;
    expect(stopped).toMatchObject({ status: "stopped", containers: [{ status: "stopped" }] });
    expect(stopped.containers[0]!.exitCode).toEqual(expect.any(Number));
    expect(stopped.stopCode).toBeUndefined();
    expect(await containersOf(nodeId)).toHaveLength(0);
  });

  it("stops a task whose essential container exits, with its exit code", async () => {
    const nodeId = newNodeId();
    const task = assignment({
      containers: [
        container({ name: "job", command: ["sh", "-c", "sleep 3; exit 3"] }),
        container({ name: "sidecar", command: ["sleep", "600"], essential: false }),
      ],
    });
    const { reconciler, reports, errors } = newReconciler(nodeId);
    reconciler.setAssignments(assignmentsOf(task));
    reconciler.start();
    try {
      await eventually(
        async () => reports,
        (list) => list.at(-1)?.report.status === "stopped",
      );
    } finally {
      await reconciler.stop();
    }

    expect(errors).toEqual([]);
    expect(reports.map((entry) => entry.report.status)).toEqual(["pending", "running", "stopped"]);
    const stopped = reports.at(-1)!.report;
    expect(stopped.stopCode).toBe("EssentialContainerExited");
    expect(stopped.reason).toBe("Essential container job exited with code 3");
    expect(stopped.containers.find((entry) => entry.name === "job")?.exitCode).toBe(3);
    expect(stopped.containers.find((entry) => entry.name === "sidecar")?.status).toBe("stopped");
    expect(await containersOf(nodeId)).toHaveLength(0);
  });

  it("ships a task's last lines before its containers are removed", async () => {
    const nodeId = newNodeId();
    const shipped: string[] = [];
    // Never started: no pass of its own, so only the flush before removal can ship the lines.
    const shipper = new LogShipper({
      nodeId,
      runtime,
      shipLogs: async (_taskId, body) => {
        shipped.push(...body.lines.map((line) => line.text));
      },
    });
    const reports: TaskReport[] = [];
    const reconciler = new Reconciler({
      nodeId,
      runtime,
      reportTask: async (_taskId, report) => {
        reports.push(report);
      },
      intervalMs: 200,
      beforeRemove: (containers) => shipper.shipFinal(containers),
    });
    const task = assignment({
      containers: [container({ command: ["sh", "-c", "echo last words; exit 0"] })],
    });
    reconciler.setAssignments(assignmentsOf(task));
    reconciler.start();
    try {
      await eventually(
        () => containersOf(nodeId),
        (list) => reports.at(-1)?.status === "stopped" && list.length === 0,
      );
    } finally {
      await reconciler.stop();
    }
    expect(reports.at(-1)?.status).toBe("stopped");
    expect(shipped).toContain("last words");
  });

  it("reports a container that died while the agent was down", async () => {
    const nodeId = newNodeId();
    const task = assignment({ containers: [container({ command: ["sh", "-c", "exit 7"] })] });
    const first = newReconciler(nodeId);
    first.reconciler.setAssignments(assignmentsOf(task));
    await first.reconciler.reconcileOnce();
    // The agent "goes down" here; the container exits meanwhile.
    await eventually(
      () => containersOf(nodeId),
      (list) => list[0]?.status === "exited",
    );

    const restarted = newReconciler(nodeId);
    restarted.reconciler.setAssignments(assignmentsOf(task));
    await restarted.reconciler.reconcileOnce();
    expect(restarted.reports).toHaveLength(1);
    expect(restarted.reports[0]!.report).toMatchObject({
      status: "stopped",
      stopCode: "EssentialContainerExited",
      containers: [{ name: "main", exitCode: 7 }],
    });
    expect(await containersOf(nodeId)).toHaveLength(0);
  });

  it("fails a task whose image does not exist without creating anything", async () => {
    const nodeId = newNodeId();
    const missing = `skiff-test/does-not-exist-${randomUUID().slice(0, 8)}:1`;
    const task = assignment({ containers: [container({ image: missing })] });
    const { reconciler, reports, errors } = newReconciler(nodeId);
    reconciler.setAssignments(assignmentsOf(task));
    await reconciler.reconcileOnce();
    // Later passes must not retry the failed task.
    await reconciler.reconcileOnce();

    expect(errors).toEqual([]);
    expect(reports.map((entry) => entry.report.status)).toEqual(["pending", "stopped"]);
    const stopped = reports[1]!.report;
    expect(stopped.stopCode).toBe("TaskFailedToStart");
    expect(stopped.reason).toMatch(/^CannotPullContainerError: /);
    expect(stopped.reason).toContain(missing);
    expect(await containersOf(nodeId)).toHaveLength(0);
  });

  it("removes a container labelled for the node that no assignment names", async () => {
    const nodeId = newNodeId();
    const orphanId = await runtime.createContainer({
      name: `skiff-orphan-${nodeId}`,
      image,
      labels: { [labels.node]: nodeId, [labels.task]: "task_orphan", [labels.stopTimeout]: "1" },
      command: ["sh", "-c", "echo hello; echo oops >&2; sleep 600"],
      env: {},
      cpuShares: 256,
      memoryBytes: 32 * 1024 * 1024,
      ports: [],
      stopTimeoutSeconds: 1,
    });
    const { reconciler, reports, errors } = newReconciler(nodeId);
    // Logs come back as text, stdout and stderr both, without Docker's stream framing.
    const logs = await eventually(
      () => runtime.containerLogs(orphanId, 10),
      (text) => text.includes("oops"),
    );
    // stdout and stderr are separate pipes: their relative order is not guaranteed.
    expect(logs.split("\n").sort()).toEqual(["", "hello", "oops"]);

    // Before the first assignments arrive nothing is an orphan yet.
    await reconciler.reconcileOnce();
    expect(await containersOf(nodeId)).toHaveLength(1);

    reconciler.setAssignments(assignmentsOf());
    await reconciler.reconcileOnce();
    expect(errors).toEqual([]);
    expect(reports).toEqual([]);
    expect(await containersOf(nodeId)).toHaveLength(0);
  });

  it("starts a task promptly while another task's pull hangs, then stops the hanging one", async () => {
    // A "registry" that accepts connections and never answers: the engine's pull hangs on it.
    const sockets = new Set<Socket>();
    const registry = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => registry.listen(0, "127.0.0.1", resolve));
    const port = (registry.address() as { port: number }).port;
    try {
      const nodeId = newNodeId();
      const hanging = assignment({
        containers: [container({ image: `127.0.0.1:${port}/skiff-test/hang-${nodeId}:1` })],
      });
      const quick = assignment({ containers: [container({ command: ["sleep", "600"] })] });
      const { reconciler, reports, errors } = newReconciler(nodeId, 6_000);
      const reportOf = (taskId: string, status: string) =>
        reports.find((entry) => entry.taskId === taskId && entry.report.status === status);
      reconciler.setAssignments(assignmentsOf(hanging));
      reconciler.start();
      try {
        // The pull is under way: the engine is connected to the silent registry.
        await eventually(
          async () => sockets.size,
          (count) => count > 0,
        );
        expect(sockets.size).toBeGreaterThan(0);
        const assignedAt = Date.now();
        reconciler.setAssignments({ ...assignmentsOf(hanging, quick), index: 2 });
        await eventually(
          async () => reportOf(quick.taskId, "running"),
          (entry) => entry !== undefined,
          5_000,
        );
        // Well before the hanging pull gives up (6 s): the quick task did not wait for it.
        expect(reportOf(quick.taskId, "running"), JSON.stringify(reports)).toBeDefined();
        expect(Date.now() - assignedAt).toBeLessThan(5_000);
        expect(reportOf(hanging.taskId, "stopped")).toBeUndefined();

        await eventually(
          async () => reportOf(hanging.taskId, "stopped"),
          (entry) => entry !== undefined,
          15_000,
        );
        const stopped = reportOf(hanging.taskId, "stopped")?.report;
        expect(stopped?.stopCode).toBe("TaskFailedToStart");
        expect(stopped?.reason).toMatch(/^CannotPullContainerError: .*hang-.*within 6 s/);
        expect(await containersOf(nodeId, hanging.taskId)).toHaveLength(0);
        expect(errors).toEqual([]);
      } finally {
        await reconciler.stop();
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      registry.close();
    }
  }, 40_000);
});
