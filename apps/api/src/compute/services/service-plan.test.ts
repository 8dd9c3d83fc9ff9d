import { describe, expect, it } from "vitest";
import { type PlannedTask, planService } from "./service-plan.js";

const task = (id: string, over: Partial<PlannedTask> = {}): PlannedTask => ({
  id,
  primary: true,
  running: true,
  healthy: true,
  unhealthy: false,
  onDrainingNode: false,
  ...over,
});
const old = (id: string, over: Partial<PlannedTask> = {}) => task(id, { primary: false, ...over });
const rolling = { minimumHealthyPercent: 100, maximumPercent: 200 };

describe("planService", () => {
  it("launches up to the desired count", () => {
    expect(planService({ desiredCount: 3, ...rolling, tasks: [task("a")] })).toEqual({
      launch: 2,
      stop: [],
    });
  });

  it("scales down, stopping tasks that serve nothing first", () => {
    const plan = planService({
      desiredCount: 1,
      ...rolling,
      tasks: [task("a"), task("b", { running: false, healthy: false })],
    });
    expect(plan).toEqual({ launch: 0, stop: [{ id: "b", reason: "scaling down" }] });
  });

  it("rolls 100/200: new tasks first, an old one only once a new one is healthy", () => {
    const start = planService({ desiredCount: 2, ...rolling, tasks: [old("a"), old("b")] });
    expect(start).toEqual({ launch: 2, stop: [] });

    const starting = [
      old("a"),
      old("b"),
      task("c", { running: false, healthy: false }),
      task("d", { running: false, healthy: false }),
    ];
    expect(planService({ desiredCount: 2, ...rolling, tasks: starting })).toEqual({
      launch: 0,
      stop: [],
    });

    const oneUp = [old("a"), old("b"), task("c"), task("d", { running: false, healthy: false })];
    expect(
      planService({ desiredCount: 2, ...rolling, tasks: oneUp }).stop.map((s) => s.id),
    ).toHaveLength(1);

    const allUp = [old("b"), task("c"), task("d")];
    expect(planService({ desiredCount: 2, ...rolling, tasks: allUp }).stop).toEqual([
      { id: "b", reason: "replaced by a new deployment" },
    ]);
  });

  it("rolls 50/100 by stopping half the old tasks first", () => {
    const plan = planService({
      desiredCount: 2,
      minimumHealthyPercent: 50,
      maximumPercent: 100,
      tasks: [old("a"), old("b")],
    });
    expect(plan.stop).toHaveLength(1);
    expect(plan.launch).toBe(1);
  });

  it("replaces unhealthy tasks and moves tasks off draining nodes", () => {
    const plan = planService({
      desiredCount: 2,
      ...rolling,
      tasks: [
        task("sick", { healthy: false, unhealthy: true }),
        task("drained", { onDrainingNode: true }),
        task("ok"),
      ],
    });
    expect(plan.stop).toEqual([{ id: "sick", reason: "task failed its health checks" }]);
    expect(plan.launch).toBe(1);
  });

  it("stops everything for a desired count of zero", () => {
    const plan = planService({ desiredCount: 0, ...rolling, tasks: [task("a"), old("b")] });
    expect(plan.stop.map((s) => s.id).sort()).toEqual(["a", "b"]);
    expect(plan.launch).toBe(0);
  });
});
