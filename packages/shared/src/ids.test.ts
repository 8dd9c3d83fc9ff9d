import { describe, expect, it } from "vitest";
import { idTime, newId } from "./ids.js";

describe("newId", () => {
  it("prefixes the id and encodes its creation time", () => {
    const at = Date.UTC(2026, 10, 23, 12, 0, 0, 123);
    const id = newId("task", at);
    expect(id).toMatch(/^task_[0-9a-z]{26}$/);
    expect(idTime(id)?.getTime()).toBe(at);
  });

  it("sorts ids by creation time", () => {
    const times = [1, 2, 1_000, 1_700_000_000_000, 1_800_000_000_000];
    const ids = times.map((t) => newId("svc", t));
    expect([...ids].sort()).toEqual(ids);
  });

  it("never repeats within the same millisecond", () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newId("req", 5)));
    expect(ids.size).toBe(10_000);
  });

  it("reads no time from something that is not an id", () => {
    expect(idTime("hello")).toBeUndefined();
    expect(idTime("task_ILOU")).toBeUndefined();
  });
});
