import { describe, expect, it } from "vitest";
import { queryRows } from "./rows.js";

describe("queryRows", () => {
  it("returns postgres-js's array of rows as it is", async () => {
    const rows = await queryRows({ execute: async () => [{ a: 1 }] } as never, "select 1");
    expect(rows).toEqual([{ a: 1 }]);
  });

  it("unwraps PGlite's { rows }", async () => {
    const rows = await queryRows({ execute: async () => ({ rows: [{ a: 1 }] }) } as never, "x");
    expect(rows).toEqual([{ a: 1 }]);
  });
});
