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

  it("refuses cloud metadata, unspecified, multicast and invalid IPv4, keeps loopback", () => {
    for (const address of [
      "169.254.169.254",
      "::ffff:169.254.169.254",
      "fe80::1",
      "0.0.0.0",
      "::",
      "224.0.0.1",
      "ff02::1",
      "999.1.1.1",
      "2130706433",
    ]) {
      expect(targetUrl(address, 8080), address).toBeUndefined();
    }
    // The all-in-one's own agent registers 127.0.0.1.
    expect(targetUrl("127.0.0.1", 8080)).toBe("http://127.0.0.1:8080");
  });
});
