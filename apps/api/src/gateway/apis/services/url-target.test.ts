import { describe, expect, it } from "vitest";
import { guardedLookup, urlTargetProblem } from "./url-target.js";

describe("URL targets", () => {
  it("refuses link-local, metadata and non-HTTP URLs when written", () => {
    expect(urlTargetProblem("https://example.com/x")).toBeUndefined();
    expect(urlTargetProblem("http://10.0.0.5:8080/")).toBeUndefined();
    expect(urlTargetProblem("http://169.254.169.254/latest/meta-data")).toMatch(/link-local/);
    expect(urlTargetProblem("http://[fd00:ec2::254]/")).toMatch(/metadata/);
    expect(urlTargetProblem("http://[::ffff:169.254.169.254]/")).toMatch(/link-local/);
    expect(urlTargetProblem("http://metadata.google.internal/")).toMatch(/metadata/);
    expect(urlTargetProblem("http://user:pw@example.com/")).toMatch(/credentials/);
    expect(urlTargetProblem("file:///etc/passwd")).toMatch(/http/);
    expect(urlTargetProblem("not a url")).toMatch(/absolute/);
  });

  it("refuses a host name that resolves to a forbidden address when connecting", async () => {
    const resolvingTo =
      (address: string) =>
      (_host: string, options: object, callback: (e: Error | null, a: never, f?: number) => void) =>
        (options as { all?: boolean }).all
          ? callback(null, [{ address, family: 4 }] as never)
          : callback(null, address as never, 4);
    const run = (address: string, all: boolean) =>
      new Promise<Error | null>((done) =>
        guardedLookup(resolvingTo(address))("target.example", { all }, (error) => done(error)),
      );
    expect((await run("169.254.169.254", false))?.message).toMatch(/never connects/);
    expect((await run("169.254.169.254", true))?.message).toMatch(/never connects/);
    expect(await run("93.184.216.34", true)).toBeNull();
  });
});
