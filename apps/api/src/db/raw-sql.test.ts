import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

// postgres-js answers a raw `execute()` with an array of rows, PGlite with `{ rows }`: a raw
// query written against one driver breaks on the other (a manifest PUT answered 500 on PGlite).
// So the api's raw SQL goes through queryRows, and this keeps it that way.
const src = join(import.meta.dirname, "..");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "test" ? [] : sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.includes(".test.") ? [path] : [];
  });
}

describe("raw SQL in the api", () => {
  it("goes through queryRows, never a driver's execute() directly", () => {
    const offenders = sourceFiles(src)
      .filter((path) => /\.execute\(/.test(readFileSync(path, "utf8")))
      .map((path) => relative(src, path));
    expect(offenders).toEqual([]);
  });
});
