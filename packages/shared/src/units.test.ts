import { describe, expect, it } from "vitest";
import { formatCpu, formatMemory, parseCpu, parseMemory, UnitParseError } from "./units.js";

describe("parseCpu", () => {
  it.each([
    [512, 512],
    ["512", 512],
    ["256 units", 256],
    ["0.5 vCPU", 512],
    ["2vcpu", 2048],
    ["0.25 vcpus", 256],
    ["1 core", 1024],
  ])("reads %j as %i cpu units", (input, units) => {
    expect(parseCpu(input)).toBe(units);
  });

  it.each([0, -1, 1.5, "", "lots", "0.0001 vCPU", "1 GHz", Number.NaN])("refuses %j", (input) => {
    expect(() => parseCpu(input)).toThrow(UnitParseError);
  });
});

describe("parseMemory", () => {
  it.each([
    [512, 512],
    ["512", 512],
    ["512MiB", 512],
    ["2 GiB", 2048],
    ["0.5GiB", 512],
    ["1GB", 954],
    ["1 tib", 1024 * 1024],
    ["1048576 KiB", 1024],
  ])("reads %j as %i MiB", (input, mebibytes) => {
    expect(parseMemory(input)).toBe(mebibytes);
  });

  it.each([0, -512, "", "big", "512 parsecs", "-1GiB", Number.POSITIVE_INFINITY])(
    "refuses %j",
    (input) => {
      expect(() => parseMemory(input)).toThrow(UnitParseError);
    },
  );
});

describe("formatting", () => {
  it("writes cpu and memory the way users read them", () => {
    expect(formatCpu(512)).toBe("0.5 vCPU");
    expect(formatMemory(2048)).toBe("2 GiB");
    expect(formatMemory(512)).toBe("512 MiB");
  });
});
