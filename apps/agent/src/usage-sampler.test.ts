import { describe, expect, it } from "vitest";
import type { ContainerCounters, ContainerRuntime, ContainerState } from "./container-runtime.js";
import { UsageSampler } from "./usage-sampler.js";

function container(id: string, taskId: string, status: ContainerState["status"] = "running") {
  return {
    id,
    name: id,
    image: "img",
    labels: { "skiff.task": taskId, "skiff.node": "node_1" },
    status,
    exitCode: null,
    health: "unknown",
    hostPorts: [],
    error: null,
    finishedAt: null,
  } satisfies ContainerState;
}

/** A runtime that only answers what sampling asks: containers and their counters. */
function fakeRuntime(containers: ContainerState[], counters: Map<string, ContainerCounters>) {
  return {
    listContainers: async () => containers,
    containerCounters: async (id: string) => counters.get(id) ?? null,
  } as unknown as ContainerRuntime;
}

describe("UsageSampler", () => {
  it("adds up a task's containers and turns cpu time into percent of one core", async () => {
    const counters = new Map<string, ContainerCounters>([
      ["a", { cpuNanos: 0, memoryBytes: 10 * 1024 * 1024 }],
      ["b", { cpuNanos: 0, memoryBytes: 6 * 1024 * 1024 }],
      ["c", { cpuNanos: 0, memoryBytes: 1024 * 1024 }],
    ]);
    let now = 0;
    const sampler = new UsageSampler({
      nodeId: "node_1",
      runtime: fakeRuntime(
        [container("a", "task_1"), container("b", "task_1"), container("c", "task_2", "exited")],
        counters,
      ),
      now: () => now,
    });
    const first = await sampler.sampleTasks();
    expect(first).toEqual([{ taskId: "task_1", cpuPercent: 0, memory: 16 }]);

    now = 2000; // two seconds later: a used 1.5 s of cpu, b 0.5 s
    counters.set("a", { cpuNanos: 1.5e9, memoryBytes: 10 * 1024 * 1024 });
    counters.set("b", { cpuNanos: 0.5e9, memoryBytes: 6 * 1024 * 1024 });
    expect(await sampler.sampleTasks()).toEqual([
      { taskId: "task_1", cpuPercent: 100, memory: 16 },
    ]);
  });

  it("reports the host's busy share of cpu since the last sample", () => {
    const readings = [
      { busy: 100, total: 1000 },
      { busy: 400, total: 2000 },
    ];
    const sampler = new UsageSampler({
      nodeId: "node_1",
      runtime: fakeRuntime([], new Map()),
      hostCpu: () => readings.shift() ?? { busy: 0, total: 0 },
      hostMemoryMiB: () => 512.4,
    });
    expect(sampler.sampleHost()).toEqual({ cpuPercent: 0, memory: 512 });
    expect(sampler.sampleHost()).toEqual({ cpuPercent: 30, memory: 512 });
  });
});
