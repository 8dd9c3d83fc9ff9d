import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { connect, createServer, type Server } from "node:net";
import { promisify } from "node:util";
import { EgressFence, parseAgentEnv } from "@skiff/agent";
import type { SkiffClient, Task } from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AllInOne, startAllInOne } from "../test/all-in-one.js";
import { docker } from "../test/docker-cli.js";
import { freePort } from "../test/process.js";
import { waitFor } from "../test/wait.js";

// The fargate egress fence, from inside a real fargate task of a real api and agent: this host
// (the api's port) and the link-local range (cloud metadata) are out of reach; the task's own
// containers and a routed destination beyond this host (the internet, played by a network
// namespace) are not. Every address reached here is on loopback or made by this test.
const run = promisify(execFile);
const image = "skiff-test/busybox:latest";
const adminToken = "e2e-fargate-egress-token-0123456789abcdef";
const suffix = randomBytes(3).toString("hex");
/**
 * "The internet": a network namespace routed from this host over a veth pair, on a benchmark
 * range. The host's end of the pair also carries a stand-in for the cloud's instance metadata
 * service (the kernel here has no dummy interfaces): an address of this host, like the api's.
 */
const metadataAddress = "169.254.169.254";
const internetNs = `skiff-egress-${suffix}`;
const veth = `skfe${suffix}`;
const octet = 1 + ((randomBytes(1)[0] ?? 0) % 250);
const internetHostSide = `198.18.${octet}.1`;
const internetAddress = `198.18.${octet}.2`;

let stack: AllInOne;
let client: SkiffClient;
let metadata: Server;
let metadataPort = 0;
let internetPort = 0;
let internetServer: ReturnType<typeof spawn> | undefined;

const sh = (command: string) => run("sh", ["-c", command]);

beforeAll(async () => {
  // The api listens on every address, as `npm start` does: the task could reach it before.
  stack = await startAllInOne("egress", adminToken, { HOST: "0.0.0.0" });
  ({ client } = stack);

  await sh(
    [
      `ip netns add ${internetNs}`,
      `ip link add ${veth}a type veth peer name ${veth}b`,
      `ip link set ${veth}b netns ${internetNs}`,
      `ip addr add ${internetHostSide}/30 dev ${veth}a`,
      `ip addr add ${metadataAddress}/32 dev ${veth}a`,
      `ip link set ${veth}a up`,
      `ip netns exec ${internetNs} ip addr add ${internetAddress}/30 dev ${veth}b`,
      `ip netns exec ${internetNs} ip link set ${veth}b up`,
      `ip netns exec ${internetNs} ip route add default via ${internetHostSide}`,
    ].join(" && "),
  );
  metadataPort = await freePort();
  metadata = createServer((socket) => socket.end("metadata-answer\n"));
  await new Promise<void>((done) => metadata.listen(metadataPort, metadataAddress, done));
  internetPort = await freePort();
  internetServer = spawn(
    "ip",
    [
      "netns",
      "exec",
      internetNs,
      process.execPath,
      "-e",
      `require("net").createServer((s) => s.end("internet-answer\\n")).listen(${internetPort}, "${internetAddress}")`,
    ],
    { stdio: "ignore" },
  );
});

afterAll(async () => {
  await stack?.stop();
  internetServer?.kill();
  await sh(`ip link del ${veth}a`).catch(() => {});
  await sh(`ip netns del ${internetNs}`).catch(() => {});
  // Not waited for: a connection a failed run left open must not hold up the cleanup.
  metadata?.close();
});

/** What an HTTP GET of `address:port` answers, from inside a container; "" when nothing does. */
async function answer(container: string, address: string, port: number, path = "/") {
  const request = `GET ${path} HTTP/1.0\\r\\nHost: ${address}\\r\\n\\r\\n`;
  // stdin stays open a while: busybox nc quits at its end, before a slower server answers.
  const script = `(printf '${request}'; sleep 2) | nc -w 3 ${address} ${port}`;
  // nc exits 1 when the server keeps the connection open past -w: what came still counts.
  const result = await run("docker", ["exec", container, "sh", "-c", script]).catch(
    (error: { stdout?: string }) => ({ stdout: error.stdout ?? "" }),
  );
  return result.stdout;
}

function containerId(task: Task, name: string): string {
  const id = task.containers.find((container) => container.name === name)?.containerId;
  if (!id) throw new Error(`no container ${name} in ${JSON.stringify(task)}`);
  return id;
}

/** The fence's jumps for `subnet` in INPUT and DOCKER-USER. */
async function jumps(subnet: string): Promise<string[]> {
  const { stdout } = await sh("iptables -w -S INPUT; iptables -w -S DOCKER-USER");
  return stdout.split("\n").filter((line) => line.includes(` ${subnet} `));
}

describe("a fargate task's egress", () => {
  it("reaches its own containers and the internet, never this host nor link-local", async () => {
    await client.registerTaskDefinition({
      family: "fg-egress",
      cpu: 256,
      memory: 512,
      compatibilities: ["fargate"],
      containers: [
        {
          name: "web",
          image,
          command: ["sh", "-c", "echo own-task > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"],
          stopTimeoutSeconds: 1,
        },
        { name: "side", image, command: ["sleep", "300"], stopTimeoutSeconds: 1 },
      ],
    });
    const [started] = await client.runTask({ taskDefinition: "fg-egress", launchType: "fargate" });
    const task = await waitFor("the task running", 30_000, async () => {
      const current = await client.getTask(started?.id ?? "");
      if (current.status === "stopped") throw new Error(JSON.stringify(current));
      return current.status === "running" ? current : undefined;
    });
    const side = containerId(task, "side");
    const subnet = await docker(
      "network",
      "inspect",
      "--format",
      "{{(index .IPAM.Config 0).Subnet}}",
      `skiff-${task.id}`,
    );
    // This host's address on the task's network: where the task reaches it first.
    const hostAddress = await docker(
      "inspect",
      "--format",
      "{{range .NetworkSettings.Networks}}{{.Gateway}}{{end}}",
      side,
    );
    expect(hostAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    // Open: the task's own containers, by name, and a destination routed beyond this host.
    const web = await waitFor("web by name", 10_000, async () => {
      const text = await answer(side, "web", 8080);
      return text.includes("own-task") ? text : undefined;
    });
    expect(web).toContain("own-task");
    expect(await answer(side, internetAddress, internetPort)).toContain("internet-answer");
    // Refused: the api's port on this host, and the metadata address, though both listen.
    expect(await fetch(`http://${hostAddress}:${stack.skiff.port}/v1/health`)).toHaveProperty(
      "ok",
      true,
    );
    expect(await answer(side, hostAddress, stack.skiff.port, "/v1/health")).toBe("");
    const fromHost = await new Promise<string>((done) => {
      const socket = connect(metadataPort, metadataAddress);
      let text = "";
      socket.on("data", (chunk: Buffer) => (text += chunk));
      socket.on("close", () => done(text));
      socket.on("error", () => done(""));
    });
    expect(fromHost).toContain("metadata-answer");
    expect(await answer(side, metadataAddress, metadataPort)).toBe("");

    // One jump per hook, even after a restarted agent fences the network again.
    expect(await jumps(subnet)).toHaveLength(2);
    const settings = parseAgentEnv({ SKIFF_API_URL: "http://x" }).SKIFF_FARGATE_EGRESS_DENY;
    await new EgressFence({ ...settings, openHostPorts: [] }).apply(subnet);
    expect(await jumps(subnet)).toHaveLength(2);

    // The rules go with the network.
    await client.stopTask(task.id);
    await waitFor("the network and its rules gone", 20_000, async () =>
      (await docker("network", "ls", "-q", "--filter", `label=skiff.task=${task.id}`)) === "" &&
      (await jumps(subnet)).length === 0
        ? true
        : undefined,
    );
  });
});
