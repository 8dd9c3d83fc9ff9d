import { describe, expect, it } from "vitest";
import { nodeAddressKind } from "./node-address.js";
import { nodeAddressSchema } from "./schemas/agent.js";

describe("nodeAddressKind", () => {
  it.each([
    ["10.0.0.5", "other"],
    ["192.168.1.20", "other"],
    ["node-1.example.internal", "other"],
    ["fd00::5", "other"],
    ["2001:db8::1", "other"],
    ["127.0.0.1", "loopback"],
    ["127.8.9.10", "loopback"],
    ["::1", "loopback"],
    ["0:0:0:0:0:0:0:1", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["localhost", "loopback"],
    ["LOCALHOST.", "loopback"],
    ["app.localhost", "loopback"],
    ["169.254.169.254", "link-local"],
    ["::ffff:169.254.169.254", "link-local"],
    ["::ffff:a9fe:a9fe", "link-local"],
    ["fe80::1", "link-local"],
    ["febf::1", "link-local"],
    ["0.0.0.0", "unspecified"],
    ["::", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.250", "multicast"],
    ["ff02::1", "multicast"],
    ["999.1.1.1", "invalid-ipv4"],
    ["1.2.3", "invalid-ipv4"],
    ["010.0.0.1", "invalid-ipv4"],
    ["2130706433", "invalid-ipv4"],
    ["0x7f.0.0.1", "invalid-ipv4"],
    ["evil.0x7f", "invalid-ipv4"],
  ])("%s is %s", (address, kind) => {
    expect(nodeAddressKind(address)).toBe(kind);
  });
});

describe("nodeAddressSchema", () => {
  it("refuses invalid IPv4, link-local, unspecified and multicast, with a message", () => {
    for (const address of [
      "999.1.1.1",
      "169.254.169.254",
      "fe80::1",
      "0.0.0.0",
      "::",
      "224.0.0.1",
      "ff02::1",
      "::ffff:169.254.169.254",
    ]) {
      const parsed = nodeAddressSchema.safeParse(address);
      expect(parsed.success, address).toBe(false);
      expect(parsed.error?.issues[0]?.message, address).toMatch(/address/);
    }
  });

  it("takes routable addresses and host names, and loopback (registration decides that)", () => {
    for (const address of ["10.0.0.5", "node-1.example", "fd00::5", "127.0.0.1", "localhost"])
      expect(nodeAddressSchema.safeParse(address).success, address).toBe(true);
  });
});
