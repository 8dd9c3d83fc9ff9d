import type { Assignment, TaskReport } from "@skiff/shared";
import { describe, expect, it } from "vitest";
import type { ContainerState } from "./container-runtime.js";
import { planActions, planTask, runningReport } from "./plan.js";

function assignment(overrides: Partial<Assignment> = {}): Assignment {
  return {
    taskId: "task_1",
    desiredStatus: "running",
    family: "web",
    revision: 1,
    service: null,
    launchType: "pool",
    cpu: 256,
    memory: 128,
    containers: [
      { name: "app", image: "img", essential: true, stopTimeoutSeconds: 5 },
      { name: "log", image: "img", essential: false, stopTimeoutSeconds: 5 },
    ],
    ...overrides,
  };
}

function container(name: string, overrides: Partial<ContainerState> = {}): ContainerState {
  return {
    id: `id-${name}`,
    name: `skiff-task_1-${name}`,
    image: "img",
    labels: { "skiff.task": "task_1", "skiff.container": name, "skiff.node": "node_1" },
    status: "running",
    exitCode: null,
    health: "unknown",
    hostPorts: [],
    error: null,
    finishedAt: null,
    ...overrides,
  };
}

const exited = (code: number, at = "2026-01-01T00:00:01Z") =>
  ({ status: "exited", exitCode: code, finishedAt: at }) as const;

describe("planTask", () => {
  it("creates every container of a new task", () => {
    const action = planTask(assignment(), [], undefined);
    expect(action).toMatchObject({ kind: "create", toStart: [] });
    expect(action?.kind === "create" && action.missing.map((c) => c.name)).toEqual(["app", "log"]);
  });

  it("creates only what is missing and starts what was left created", () => {
    const action = planTask(assignment(), [container("app", { status: "created" })], undefined);
    expect(action?.kind).toBe("create");
    if (action?.kind !== "create") return;
    expect(action.missing.map((c) => c.name)).toEqual(["log"]);
    expect(action.toStart.map((c) => c.id)).toEqual(["id-app"]);
  });

  it("only reports a task whose containers all run", () => {
    const action = planTask(assignment(), [container("app"), container("log")], undefined);
    expect(action).toMatchObject({ kind: "report", report: { status: "running" } });
  });

  it("keeps a task running when a non-essential container exits, reporting its exit", () => {
    const action = planTask(
      assignment(),
      [container("app"), container("log", exited(1))],
      undefined,
    );
    expect(action).toMatchObject({
      kind: "report",
      report: { status: "running", containers: [{}, { status: "stopped", exitCode: 1 }] },
    });
  });

  it("stops the task when an essential container exits, naming it and its code", () => {
    const action = planTask(
      assignment(),
      [container("app", exited(3)), container("log")],
      undefined,
    );
    expect(action).toMatchObject({
      kind: "stop",
      stopCode: "EssentialContainerExited",
      reason: "Essential container app exited with code 3",
    });
  });

  it("names the essential container that exited first", () => {
    const both = assignment({
      containers: [
        { name: "a", image: "img", essential: true, stopTimeoutSeconds: 5 },
        { name: "b", image: "img", essential: true, stopTimeoutSeconds: 5 },
      ],
    });
    const action = planTask(
      both,
      [
        container("a", exited(137, "2026-01-01T00:00:09Z")),
        container("b", exited(2, "2026-01-01T00:00:01Z")),
      ],
      undefined,
    );
    expect(action).toMatchObject({ reason: "Essential container b exited with code 2" });
  });

  it("stops a task the api wants stopped, without a stop code of its own", () => {
    const action = planTask(
      assignment({ desiredStatus: "stopped" }),
      [container("app")],
      undefined,
    );
    expect(action).toMatchObject({ kind: "stop" });
    expect(action?.kind === "stop" && action.stopCode).toBeUndefined();
  });

  it("reports stopped a task the api wants stopped that has no containers", () => {
    const action = planTask(assignment({ desiredStatus: "stopped" }), [], undefined);
    expect(action).toMatchObject({ kind: "report", report: { status: "stopped" } });
  });

  it("never restarts a task it reported stopped, and cleans up what is left of it", () => {
    const stopped: TaskReport = { status: "stopped", containers: [] };
    expect(planTask(assignment(), [], stopped)).toBeNull();
    expect(planTask(assignment(), [container("app", exited(0))], stopped)).toMatchObject({
      kind: "cleanup",
    });
  });
});

describe("planActions", () => {
  it("cleans up containers of tasks no assignment names", () => {
    const orphan = container("app", { labels: { "skiff.task": "task_gone" } });
    expect(planActions([], [orphan], new Map())).toEqual([
      { kind: "cleanup", taskId: "task_gone", containers: [orphan] },
    ]);
  });

  it("plans each assigned task with its own containers", () => {
    const other = assignment({ taskId: "task_2" });
    const actions = planActions(
      [assignment(), other],
      [container("app"), container("log")],
      new Map(),
    );
    expect(actions.map((action) => [action.taskId, action.kind])).toEqual([
      ["task_1", "report"],
      ["task_2", "create"],
    ]);
  });
});

describe("runningReport", () => {
  it("is pending until every essential container runs", () => {
    const report = runningReport(assignment(), [container("app", { status: "created" })]);
    expect(report.status).toBe("pending");
    expect(report.containers.map((c) => c.status)).toEqual(["pending", "pending"]);
  });

  it("carries container ids, health and host ports", () => {
    const hostPorts = [{ containerPort: 80, hostPort: 32768, protocol: "tcp" }];
    const report = runningReport(assignment(), [
      container("app", { health: "healthy", hostPorts }),
      container("log"),
    ]);
    expect(report.containers[0]).toEqual({
      name: "app",
      image: "img",
      status: "running",
      containerId: "id-app",
      exitCode: null,
      reason: null,
      health: "healthy",
      hostPorts,
    });
  });
});
