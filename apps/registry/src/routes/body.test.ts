import { describe, expect, it } from "vitest";
import { RegistryError } from "../errors.js";
import { parseContentRange, parseRange } from "./body.js";

describe("parseRange", () => {
  it("reads byte ranges, open and suffix ones too", () => {
    expect(parseRange(undefined, 100)).toBeUndefined();
    expect(parseRange("bytes=0-9", 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange("bytes=90-", 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange("bytes=-10", 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange("bytes=50-500", 100)).toEqual({ start: 50, end: 99 });
  });

  it("refuses unsatisfiable ranges with 416", () => {
    for (const header of ["bytes=100-", "bytes=9-3", "items=0-1", "bytes=-"]) {
      expect(() => parseRange(header, 100), header).toThrow(RegistryError);
    }
  });
});

describe("parseContentRange", () => {
  it("takes the start offset in the forms clients send", () => {
    expect(parseContentRange("0-99")).toBe(0);
    expect(parseContentRange("bytes 100-199/*")).toBe(100);
    expect(parseContentRange(undefined)).toBeUndefined();
    expect(() => parseContentRange("nonsense")).toThrow(RegistryError);
  });
});
