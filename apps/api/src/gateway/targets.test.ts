import { describe, expect, it } from "vitest";
import { targetUrl } from "./targets.js";

describe("targetUrl", () => {
  it("builds the URL of a host name or IP and a port", () => {
    expect(targetUrl("10.0.0.5", 49153)).toBe("http://10.0.0.5:49153");
    expect(targetUrl("node-1.example", 8080)).toBe("http://node-1.example:8080");
    expect(targetUrl("fd00::5", 8080)).toBe("http://[fd00::5]:8080");
  });

  it("refuses an address that would point the gateway somewhere else", () => {
    for (const address of [
      "evil.example/path?",
      "evil.example:9999/",
      "user@10.0.0.5",
      "http://169.254.169.254",
      "10.0.0.5#",
      "",
    ]) {
      expect(targetUrl(address, 8080), address).toBeUndefined();
    }
    expect(targetUrl("10.0.0.5", 0)).toBeUndefined();
  });
});
