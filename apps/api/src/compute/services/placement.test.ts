import type { Placement } from "@skiff/shared";
import { describe, expect, it } from "vitest";
import { type Candidate, chooseNode } from "./placement.js";

const node = (id: string, over: Partial<Candidate> = {}): Candidate => ({
  id,
  capacity: { cpu: 2048, memory: 4096 },
  allocated: { cpu: 0, memory: 0 },
  attributes: {},
  usedHostPorts: new Set(),
  siblings: 0,
  ...over,
});
const binpack: Placement = { strategy: "binpack", constraints: [] };
const spread: Placement = { strategy: "spread", constraints: [] };
const demand = { cpu: 256, memory: 512, hostPorts: [] };

describe("chooseNode", () => {
  it("binpacks onto the fullest node that still fits", () => {
    const nodes = [
      node("a"),
      node("b", { allocated: { cpu: 1024, memory: 3000 } }),
      node("c", { allocated: { cpu: 0, memory: 3800 } }),
    ];
    expect(chooseNode(nodes, demand, binpack)).toEqual({ ok: true, nodeId: "b" });
  });

  it("spreads onto the node with the fewest siblings", () => {
    const nodes = [node("a", { siblings: 2 }), node("b", { siblings: 1 })];
    expect(chooseNode(nodes, demand, spread)).toEqual({ ok: true, nodeId: "b" });
  });

  it("spreads over an attribute", () => {
    const nodes = [
      node("a1", { attributes: { zone: "a" }, siblings: 1 }),
      node("a2", { attributes: { zone: "a" }, siblings: 0 }),
      node("b1", { attributes: { zone: "b" }, siblings: 0 }),
    ];
    expect(chooseNode(nodes, demand, { ...spread, spreadAttribute: "zone" })).toEqual({
      ok: true,
      nodeId: "b1",
    });
  });

  it("names the resource that is missing", () => {
    const full = node("a", { allocated: { cpu: 2048, memory: 0 } });
    expect(chooseNode([full], demand, binpack)).toEqual({
      ok: false,
      reason: "no node has 256 cpu units free",
    });
    const noMemory = node("a", { allocated: { cpu: 0, memory: 4000 } });
    expect(chooseNode([noMemory], demand, binpack)).toMatchObject({ ok: false, reason: /512 MiB/ });
    const portTaken = node("a", { usedHostPorts: new Set([8080]) });
    expect(chooseNode([portTaken], { ...demand, hostPorts: [8080] }, binpack)).toMatchObject({
      ok: false,
      reason: /host port 8080/,
    });
    expect(chooseNode([], demand, binpack)).toMatchObject({ ok: false, reason: /no active node/ });
  });

  it("honours constraints", () => {
    const nodes = [
      node("a", { attributes: { disk: "hdd" } }),
      node("b", { attributes: { disk: "ssd" } }),
    ];
    const only = (constraints: Placement["constraints"]) =>
      chooseNode(nodes, demand, { strategy: "binpack", constraints });
    expect(only([{ type: "equals", attribute: "disk", value: "ssd" }])).toEqual({
      ok: true,
      nodeId: "b",
    });
    expect(only([{ type: "notEquals", attribute: "disk", value: "ssd" }])).toEqual({
      ok: true,
      nodeId: "a",
    });
    expect(only([{ type: "in", attribute: "disk", value: ["nvme", "hdd"] }])).toEqual({
      ok: true,
      nodeId: "a",
    });
    expect(only([{ type: "equals", attribute: "disk", value: "tape" }])).toMatchObject({
      ok: false,
      reason: /constraints/,
    });
    const busy = [node("a", { siblings: 1 }), node("b")];
    expect(
      chooseNode(busy, demand, { strategy: "binpack", constraints: [{ type: "distinctHost" }] }),
    ).toEqual({ ok: true, nodeId: "b" });
  });
});
