// What a fargate task may reach outside its own network: the internet, yes; this node itself
// (the api, the registry, a TCP Docker socket, other containers' published ports) and the
// link-local range (cloud metadata and instance credentials), no. Enforced with iptables rules
// keyed on each fargate network's subnet, added when the network is made and removed with it.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { promisify } from "node:util";

/** What fargate tasks may not reach, from SKIFF_FARGATE_EGRESS_DENY. */
export interface EgressFenceSettings {
  /** Every address of this node, and every port published on them (`self` in the setting). */
  denySelf: boolean;
  /** IPv4 CIDRs, refused whether they are on this node or routed beyond it. */
  denyCidrs: string[];
  /**
   * TCP ports of this node fargate tasks may reach despite `denySelf`: how a server the agent
   * runs for its tasks (the Lambda Runtime API) is opened, one port and nothing else.
   */
  openHostPorts: number[];
}

export const defaultEgressDeny = "169.254.0.0/16,self";

const cidr = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(\/(\d|[12]\d|3[0-2]))?$/;

/**
 * Parses `169.254.0.0/16,self` (CIDRs or addresses, and `self` for this node's own addresses);
 * `none` turns the fence off. Throws naming the entry that is neither.
 */
export function parseEgressDeny(text: string): Pick<EgressFenceSettings, "denySelf" | "denyCidrs"> {
  const entries = text
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 1 && entries[0] === "none") return { denySelf: false, denyCidrs: [] };
  let denySelf = false;
  const denyCidrs: string[] = [];
  for (const entry of entries) {
    if (entry === "self") {
      denySelf = true;
      continue;
    }
    const match = cidr.exec(entry);
    if (!match || match.slice(1, 5).some((part) => Number(part) > 255))
      throw new Error(`"${entry}" is not an IPv4 CIDR, "self" or "none"`);
    denyCidrs.push(match[5] ? entry : `${entry}/32`);
  }
  return { denySelf, denyCidrs };
}

/** Runs one iptables command; rejects with its stderr when it fails. */
export type Iptables = (args: string[]) => Promise<string>;

const run = promisify(execFile);

/** The iptables whose tables hold Docker's chains: nft or legacy, whichever Docker uses. */
async function detectIptables(): Promise<Iptables> {
  for (const binary of ["iptables", "iptables-nft", "iptables-legacy"]) {
    // -w: wait for the xtables lock Docker holds while it changes rules.
    const command: Iptables = async (args) => (await run(binary, ["-w", ...args])).stdout;
    if (
      await command(["-S", "DOCKER-USER"]).then(
        () => true,
        () => false,
      )
    )
      return command;
  }
  throw new Error(
    "no iptables with Docker's DOCKER-USER chain: the agent needs iptables, root (or NET_ADMIN) " +
      "and the host's network namespace to fence fargate tasks in; " +
      "SKIFF_FARGATE_EGRESS_DENY=none runs them without the fence",
  );
}

const chainPrefix = "SKIFF-FG-";
/** A refusal the task sees at once (connection refused), spelled as `iptables -S` prints it. */
const reject = ["-j", "REJECT", "--reject-with", "icmp-port-unreachable"];

/** The two chains of one set of settings and their rules (pure, for tests). */
export function fenceChains(settings: EgressFenceSettings): {
  input: { name: string; rules: string[][] };
  forward: { name: string; rules: string[][] };
} {
  // Replies to connections made to a task (the gateway, published ports) always pass.
  const established = ["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "RETURN"];
  const input: string[][] = [established];
  for (const port of settings.openHostPorts)
    input.push(["-p", "tcp", "-m", "tcp", "--dport", String(port), "-j", "ACCEPT"]);
  // INPUT only sees traffic for this node's own addresses: with `self`, all of it.
  if (settings.denySelf) input.push(reject);
  else for (const range of settings.denyCidrs) input.push(["-d", range, ...reject]);

  const forward: string[][] = [established];
  // Published ports: Docker rewrites a connection to <node address>:<port> to the container's
  // address before forwarding it, so it is caught by that rewrite (DNAT), not by address.
  if (settings.denySelf) forward.push(["-m", "conntrack", "--ctstate", "DNAT", ...reject]);
  for (const range of settings.denyCidrs)
    forward.push(["-m", "conntrack", "--ctorigdst", range, ...reject]);

  // Named after their rules: agents with other settings on one host never rewrite each other's.
  const hash = createHash("sha256")
    .update(JSON.stringify([input, forward]))
    .digest("hex")
    .slice(0, 8);
  return {
    input: { name: `${chainPrefix}IN-${hash}`, rules: input },
    forward: { name: `${chainPrefix}FWD-${hash}`, rules: forward },
  };
}

/**
 * The fence of one node's fargate networks. `apply(subnet)` when a network is made (and again
 * after an agent restart: it adds nothing twice), `release(subnet)` once it is removed. Each
 * subnet gets one jump from INPUT (traffic to this node) and one from DOCKER-USER (traffic
 * Docker forwards) into chains shared by every subnet.
 */
export class EgressFence {
  private iptables: Promise<Iptables> | undefined;
  private chainsReady: Promise<void> | undefined;
  /** Subnets fenced by this process; a restarted agent checks each once again. */
  private readonly applied = new Set<string>();

  constructor(
    private readonly settings: EgressFenceSettings,
    iptables?: Iptables,
  ) {
    if (iptables) this.iptables = Promise.resolve(iptables);
  }

  get enabled(): boolean {
    return this.settings.denySelf || this.settings.denyCidrs.length > 0;
  }

  /** Fences `subnet` in; rejects (the task must not start unfenced) when iptables cannot. */
  async apply(subnet: string): Promise<void> {
    if (!this.enabled || this.applied.has(subnet)) return;
    const iptables = await this.command();
    await this.ensureChains(iptables);
    const { input, forward } = fenceChains(this.settings);
    await this.jump(iptables, "INPUT", ["-s", subnet, "-j", input.name]);
    // Traffic between the task's own containers is never fenced, whatever the deny list holds.
    await this.jump(iptables, "DOCKER-USER", ["-s", subnet, "!", "-d", subnet, "-j", forward.name]);
    this.applied.add(subnet);
  }

  /** Removes every jump of `subnet` (this or earlier settings'); a no-op when there is none. */
  async release(subnet: string | undefined): Promise<void> {
    if (!subnet) return;
    this.applied.delete(subnet);
    if (!this.enabled && !this.iptables) return;
    const iptables = await this.command();
    for (const hook of ["INPUT", "DOCKER-USER"]) {
      for (const rule of await jumpsOf(iptables, hook, subnet))
        await iptables(["-D", hook, ...rule]).catch(() => {});
    }
  }

  private command(): Promise<Iptables> {
    this.iptables ??= detectIptables();
    // A failed detection is tried again at the next task, not remembered.
    this.iptables.catch(() => {
      this.iptables = undefined;
    });
    return this.iptables;
  }

  /** Makes both chains hold exactly their rules; done once per process. */
  private ensureChains(iptables: Iptables): Promise<void> {
    this.chainsReady ??= (async () => {
      const chains = fenceChains(this.settings);
      for (const { name, rules } of [chains.input, chains.forward]) {
        const wanted = [`-N ${name}`, ...rules.map((rule) => `-A ${name} ${rule.join(" ")}`)];
        const actual = await iptables(["-S", name]).then(
          (text) => text.trim().split("\n"),
          () => undefined,
        );
        if (actual && sameRules(actual, wanted)) continue;
        if (actual) await iptables(["-F", name]);
        else await iptables(["-N", name]);
        for (const rule of rules) await iptables(["-A", name, ...rule]);
      }
    })();
    this.chainsReady.catch(() => {
      this.chainsReady = undefined;
    });
    return this.chainsReady;
  }

  /** Puts `rule` first in `hook` unless it is there, after dropping the subnet's stale jumps. */
  private async jump(iptables: Iptables, hook: string, rule: string[]): Promise<void> {
    const subnet = rule[1] as string;
    const target = rule[rule.length - 1] as string;
    for (const stale of await jumpsOf(iptables, hook, subnet)) {
      if (stale[stale.length - 1] !== target) await iptables(["-D", hook, ...stale]);
    }
    const present = await iptables(["-C", hook, ...rule]).then(
      () => true,
      () => false,
    );
    if (!present) await iptables(["-I", hook, "1", ...rule]);
  }
}

const fences = new Map<string, EgressFence>();

/**
 * The one fence of these settings in this process: fargate tasks' networks and function
 * instances' networks share its chains, so the chains are made once, never by two callers at
 * the same moment (the second `iptables -N` would fail and take a task down with it).
 */
export function sharedFence(settings: EgressFenceSettings): EgressFence {
  const key = JSON.stringify(fenceChains(settings));
  let fence = fences.get(key);
  if (!fence) {
    fence = new EgressFence(settings);
    fences.set(key, fence);
  }
  return fence;
}

/** `hook`'s jumps into the fence's chains for `subnet`, as arguments for `-D`. */
async function jumpsOf(iptables: Iptables, hook: string, subnet: string): Promise<string[][]> {
  const listing = await iptables(["-S", hook]);
  return listing
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter(
      (words) =>
        words[0] === "-A" &&
        words.includes(subnet) &&
        (words[words.length - 1] ?? "").startsWith(chainPrefix),
    )
    .map((words) => words.slice(2));
}

/** iptables -S prints `-m conntrack` where we wrote it, but may normalise spacing and order. */
function sameRules(actual: string[], wanted: string[]): boolean {
  const normal = (lines: string[]) => lines.map((line) => line.trim().replace(/\s+/g, " "));
  return JSON.stringify(normal(actual)) === JSON.stringify(normal(wanted));
}
