import { describe, expect, it } from "vitest";
import { PassiveHealth } from "./health.js";

const targets = [{ url: "http://a:1" }, { url: "http://b:1" }, { url: "http://c:1" }];
const urls = (list: readonly { url: string }[]) => list.map((t) => t.url.slice(7, 8)).join("");

describe("PassiveHealth", () => {
  it("ejects a target after 3 failures in a row for a while, then tries it again", () => {
    let now = 0;
    const health = new PassiveHealth(3, 10_000, () => now);
    health.failed("http://b:1");
    health.failed("http://b:1");
    expect(urls(health.order(targets, 0))).toBe("abc");
    health.failed("http://b:1");
    expect(urls(health.order(targets, 0))).toBe("ac");
    expect(urls(health.order(targets, 1))).toBe("ca");
    now = 10_001;
    expect(urls(health.order(targets, 1))).toBe("bca");
  });

  it("counts only failures in a row", () => {
    const health = new PassiveHealth(3, 10_000, () => 0);
    health.failed("http://a:1");
    health.failed("http://a:1");
    health.succeeded("http://a:1");
    health.failed("http://a:1");
    expect(urls(health.order(targets, 0))).toBe("abc");
  });

  it("never leaves a service without targets", () => {
    const health = new PassiveHealth(1, 10_000, () => 0);
    for (const target of targets) health.failed(target.url);
    expect(urls(health.order(targets, 2))).toBe("cab");
  });
});
