import { describe, expect, it } from "vitest";
import { ContainerRequestError, type ContainerRuntime } from "./container-runtime.js";
import { defaultEgressDeny, fenceChains, parseEgressDeny } from "./egress-fence.js";
import { parseEnv } from "./env.js";
import { defaultIsolation } from "./isolation.js";
import { TaskNetworks } from "./task-networks.js";

describe("SKIFF_FARGATE_EGRESS_DENY", () => {
  it("denies the link-local range and this node by default", () => {
    expect(parseEnv({ SKIFF_API_URL: "http://a" }).SKIFF_FARGATE_EGRESS_DENY).toEqual({
      denySelf: true,
      denyCidrs: ["169.254.0.0/16"],
    });
    expect(parseEgressDeny(defaultEgressDeny)).toEqual(parseEgressDeny("self, 169.254.0.0/16"));
  });

  it("reads CIDRs and addresses, and none for no fence", () => {
    expect(parseEgressDeny("10.0.0.0/8,192.0.2.7")).toEqual({
      denySelf: false,
      denyCidrs: ["10.0.0.0/8", "192.0.2.7/32"],
    });
    expect(parseEgressDeny("none")).toEqual({ denySelf: false, denyCidrs: [] });
  });

  it("names the entry it cannot read", () => {
    expect(() =>
      parseEnv({ SKIFF_API_URL: "http://a", SKIFF_FARGATE_EGRESS_DENY: "self,metadata" }),
    ).toThrow(/SKIFF_FARGATE_EGRESS_DENY: "metadata" is not an IPv4 CIDR/);
    expect(() => parseEgressDeny("300.1.1.1/8")).toThrow(/300/);
  });
});

describe("fence chains", () => {
  const settings = { ...parseEgressDeny(defaultEgressDeny), openHostPorts: [] };

  it("lets replies through, then refuses the node and published ports, and link-local", () => {
    const { input, forward } = fenceChains(settings);
    expect(input.rules.map((rule) => rule.join(" "))).toEqual([
      "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
      "-j REJECT --reject-with icmp-port-unreachable",
    ]);
    expect(forward.rules.map((rule) => rule.join(" "))).toEqual([
      "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
      "-m conntrack --ctstate DNAT -j REJECT --reject-with icmp-port-unreachable",
      "-m conntrack --ctorigdst 169.254.0.0/16 -j REJECT --reject-with icmp-port-unreachable",
    ]);
  });

  it("opens exactly the host ports asked for, before the refusal, in chains of their own", () => {
    const open = fenceChains({ ...settings, openHostPorts: [9001] });
    expect(open.input.rules[1]?.join(" ")).toBe("-p tcp -m tcp --dport 9001 -j ACCEPT");
    expect(open.input.rules).toHaveLength(3);
    expect(open.input.name).not.toBe(fenceChains(settings).input.name);
    expect(open.input.name.length).toBeLessThanOrEqual(28);
  });
});

describe("a node that cannot fence", () => {
  it("fails the task to start, saying what the agent needs, instead of running it unfenced", async () => {
    const runtime = {
      listNetworks: async () => [],
      ensureNetwork: async () => {},
    } as unknown as ContainerRuntime;
    const networks = new TaskNetworks("node_1", runtime, defaultIsolation);
    const path = process.env.PATH;
    process.env.PATH = "/nonexistent"; // no iptables at all
    try {
      const failure = await networks.ensureFor("task_1").catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ContainerRequestError);
      expect((failure as Error).message).toMatch(
        /cannot fence the task's network in: .*NET_ADMIN.*SKIFF_FARGATE_EGRESS_DENY=none/,
      );
    } finally {
      process.env.PATH = path;
    }
  });
});
