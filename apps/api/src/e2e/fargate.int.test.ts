import { execFile } from "node:child_process";
import { promisify } from "node:util";
import {
  type RegisterTaskDefinition,
  SkiffApiError,
  type SkiffClient,
  type Task,
} from "@skiff/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AllInOne, startAllInOne } from "../test/all-in-one.js";
import { docker } from "../test/docker-cli.js";
import { freePort, type SkiffProcess } from "../test/process.js";
import { waitFor } from "../test/wait.js";

// Fargate on one host: the all-in-one offers part of this host as the platform's capacity (a
// node of pool fargate) and fences each fargate task in. Checked against what Docker shows.
const run = promisify(execFile);
const image = "skiff-test/busybox:latest";
const adminToken = "e2e-fargate-token-0123456789abcdef";

let stack: AllInOne;
let skiff: SkiffProcess;
let gatewayPort = 0;
let client: SkiffClient;

beforeAll(async () => {
  gatewayPort = await freePort();
  stack = await startAllInOne("fargate", adminToken, { SKIFF_GATEWAY_PORT: String(gatewayPort) });
  ({ skiff, client } = stack);
});

afterAll(() => stack?.stop());

async function waitForStatus(id: string, status: Task["status"], timeoutMs = 20_000) {
  return waitFor(`task ${id} ${status}`, timeoutMs, async () => {
    const task = await client.getTask(id);
    if (task.status === status) return task;
    if (task.status === "stopped" && status !== "stopped")
      throw new Error(`task stopped while waiting for ${status}: ${JSON.stringify(task)}`);
    return undefined;
  });
}

async function runFargate(definition: Omit<RegisterTaskDefinition, "compatibilities">) {
  await client.registerTaskDefinition({ ...definition, compatibilities: ["fargate"] });
  const [task] = await client.runTask({ taskDefinition: definition.family, launchType: "fargate" });
  if (!task) throw new Error("runTask started no task");
  return task;
}

/**
 * What an HTTP GET of port 8080 at `address` answers, from inside a container; "" when nothing
 * answers. (The test image's static busybox cannot resolve names in wget; nc and nslookup do.)
 */
async function httpGet(container: string, address: string): Promise<string> {
  const script = `printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 ${address} 8080`;
  return (
    await run("docker", ["exec", container, "sh", "-c", script]).catch(() => ({ stdout: "" }))
  ).stdout;
}

/** The address a name resolves to inside a container (Docker's embedded DNS); "" if none. */
async function resolve(container: string, name: string): Promise<string> {
  const script = `nslookup ${name} 127.0.0.11 | awk '/^Address/ {a=$2} END {print a}'`;
  const answer = await run("docker", ["exec", container, "sh", "-c", script]).catch(() => ({
    stdout: "",
  }));
  // The last Address line is the server's own when the name is unknown.
  const address = answer.stdout.trim();
  return address.startsWith("127.0.0.11") ? "" : address;
}

/** The container id of one container of a running task. */
function containerId(task: Task, name: string): string {
  const id = task.containers.find((container) => container.name === name)?.containerId;
  if (!id) throw new Error(`no container ${name} in ${JSON.stringify(task)}`);
  return id;
}

/** Two containers: an httpd, and a client that fetches from it by name. */
function webTask(family: string): Omit<RegisterTaskDefinition, "compatibilities"> {
  return {
    family,
    cpu: 256,
    memory: 512,
    containers: [
      {
        name: "web",
        image,
        command: ["sh", "-c", `echo ${family} > /tmp/index.html; exec httpd -f -p 8080 -h /tmp`],
        portMappings: [{ containerPort: 8080 }],
        stopTimeoutSeconds: 1,
      },
      { name: "side", image, command: ["sleep", "300"], stopTimeoutSeconds: 1 },
    ],
  };
}

describe("fargate sizes", () => {
  it("refuses an invalid size, naming the nearest valid ones", async () => {
    const error = await client
      .registerTaskDefinition({
        family: "fg-bad-size",
        cpu: 256,
        memory: 4096,
        compatibilities: ["fargate"],
        containers: [{ name: "main", image }],
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SkiffApiError);
    expect((error as SkiffApiError).status).toBe(400);
    expect((error as SkiffApiError).message).toContain("cpu 512 memory 4096");
  });

  it("rounds needs up to the smallest valid size with size auto", async () => {
    const definition = await client.registerTaskDefinition({
      family: "fg-auto",
      cpu: 100,
      memory: 300,
      size: "auto",
      compatibilities: ["fargate"],
      containers: [{ name: "main", image, memory: 700 }],
    });
    expect({ cpu: definition.cpu, memory: definition.memory }).toEqual({ cpu: 256, memory: 1024 });
  });

  it("refuses host ports and a named pool for fargate", async () => {
    const hostPort = await client
      .registerTaskDefinition({
        family: "fg-host-port",
        cpu: 256,
        memory: 512,
        compatibilities: ["fargate"],
        containers: [{ name: "main", image, portMappings: [{ containerPort: 80, hostPort: 80 }] }],
      })
      .catch((caught: unknown) => caught as SkiffApiError);
    expect(hostPort).toMatchObject({ status: 400 });
    await client.registerTaskDefinition({
      family: "fg-pool",
      cpu: 256,
      memory: 512,
      compatibilities: ["fargate", "pool"],
      containers: [{ name: "main", image }],
    });
    const named = await client
      .runTask({ taskDefinition: "fg-pool", launchType: "fargate", pool: "default" })
      .catch((caught: unknown) => caught as SkiffApiError);
    expect(named).toMatchObject({ status: 400 });
    const poolOnFargate = await client
      .runTask({ taskDefinition: "fg-pool", launchType: "pool", pool: "fargate" })
      .catch((caught: unknown) => caught as SkiffApiError);
    expect(poolOnFargate).toMatchObject({ status: 400 });
  });
});

describe("fargate tasks on the local node", () => {
  it("runs on the fargate node only, fenced in: own network, capabilities, no-new-privileges", async () => {
    const [first, second] = await Promise.all([
      runFargate(webTask("fg-web-a")),
      runFargate(webTask("fg-web-b")),
    ]);
    const a = await waitForStatus(first?.id ?? "", "running");
    const b = await waitForStatus(second?.id ?? "", "running");
    const fargateNode = (await client.listNodes({ pool: "fargate" }))[0];
    expect(a.nodeId).toBe(fargateNode?.id);
    expect(a.pool).toBe("fargate");

    // Containers of one task reach each other by name.
    const sideA = containerId(a, "side");
    expect(await httpGet(sideA, await resolve(sideA, "web"))).toContain("fg-web-a");
    // Another task's container is out of reach, by name and by address.
    const webB = containerId(b, "web");
    const addressB = await docker(
      "inspect",
      "--format",
      "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
      webB,
    );
    expect(addressB).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(await httpGet(containerId(b, "side"), addressB)).toContain("fg-web-b");
    expect(await httpGet(sideA, addressB)).not.toContain("fg-web-b");
    expect(await resolve(sideA, "fg-web-b")).toBe("");

    // Capabilities: only the documented set is effective (CHOWN DAC_OVERRIDE FOWNER FSETID KILL
    // SETGID SETUID NET_BIND_SERVICE = bits 0 1 3 4 5 6 7 10 = 0x4fb).
    const status = await docker("exec", sideA, "sh", "-c", "grep CapEff /proc/1/status");
    expect(status).toMatch(/CapEff:\s+0+4fb$/);
    const host = JSON.parse(await docker("inspect", "--format", "{{json .HostConfig}}", sideA));
    expect(host).toMatchObject({
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges:true"],
      PidsLimit: 1024,
      Privileged: false,
      Memory: 512 * 1024 * 1024,
      MemorySwap: 512 * 1024 * 1024,
      NanoCpus: 250_000_000,
    });
    expect(host.Binds ?? []).toEqual([]);

    await Promise.all([client.stopTask(a.id), client.stopTask(b.id)]);
    await waitForStatus(a.id, "stopped");
    // The task's network goes with it.
    await waitFor("the task network removed", 10_000, async () =>
      (await docker("network", "ls", "-q", "--filter", `label=skiff.task=${a.id}`)) === ""
        ? true
        : undefined,
    );
  });

  it("holds a busy task to its cpu size, measured", async () => {
    const task = await runFargate({
      family: "fg-busy",
      cpu: 256,
      memory: 512,
      containers: [{ name: "main", image, command: ["sh", "-c", "while :; do :; done"] }],
    });
    await waitForStatus(task.id, "running");
    const sample = await waitFor("a cpu sample", 20_000, async () => {
      const { points } = await client.taskStats(task.id);
      return points.find((point) => point.cpuPercent > 5);
    });
    // A quarter of a core, whatever the host has free.
    expect(sample.cpuPercent, JSON.stringify(sample)).toBeGreaterThan(20);
    expect(sample.cpuPercent, JSON.stringify(sample)).toBeLessThan(30);
    await client.stopTask(task.id);
  });

  it("stops a task over its memory with an out-of-memory reason", { timeout: 90_000 }, async () => {
    const task = await runFargate({
      family: "fg-oom",
      cpu: 256,
      memory: 512,
      containers: [
        {
          name: "main",
          image, // One 700 MiB buffer, filled at once: over the 512 MiB limit in a second.
          command: ["sh", "-c", "exec dd if=/dev/zero of=/dev/null bs=700M count=1"],
        },
      ],
    });
    // Filling the memory at a quarter of a core takes about ten seconds on an idle host.
    const stopped = await waitForStatus(task.id, "stopped", 60_000);
    expect(stopped.stopCode, JSON.stringify(stopped)).toBe("EssentialContainerExited");
    expect(stopped.containers[0]?.exitCode).toBe(137);
    expect(`${stopped.stoppedReason} ${stopped.containers[0]?.reason}`).toMatch(/OutOfMemory/);
  });

  it("waits in provisioning when no fargate node has room, naming what is missing", async () => {
    const task = await runFargate({
      family: "fg-huge",
      cpu: 16384,
      memory: 32768,
      containers: [{ name: "main", image }],
    });
    const waiting = await waitFor("a pending reason", 10_000, async () => {
      const current = await client.getTask(task.id);
      return current.pendingReason ? current : undefined;
    });
    expect(waiting.status).toBe("provisioning");
    expect(waiting.pendingReason).toMatch(/16384 cpu units/);
    await client.stopTask(task.id);
  });
});

describe("a fargate service behind the load balancer", () => {
  it("is reached through the gateway, round robin over its tasks", async () => {
    await client.registerTaskDefinition({ ...webTask("fg-lb"), compatibilities: ["fargate"] });
    await client.createService({
      name: "fg-lb",
      taskDefinition: "fg-lb",
      desiredCount: 2,
      launchType: "fargate",
      loadBalancer: { containerName: "web", containerPort: 8080 },
    });
    await waitFor("2 running fargate tasks", 30_000, async () => {
      const service = await client.getService("fg-lb");
      return service.runningCount === 2 ? service : undefined;
    });
    const url = `http://127.0.0.1:${gatewayPort}/_/services/fg-lb/`;
    const body = await waitFor("an answer through the gateway", 15_000, async () => {
      const response = await fetch(url).catch(() => undefined);
      return response?.ok ? await response.text() : undefined;
    });
    expect(body.trim()).toBe("fg-lb");
    const tasks = await client.listTasks({ service: "fg-lb", status: "running" });
    expect(tasks.items.every((task) => task.pool === "fargate")).toBe(true);
    await client.deleteService("fg-lb");
  });
});

describe("metering", () => {
  it("meters fargate tasks per second with a minute minimum, at Fargate's prices", async () => {
    const usage = await client.usage({ groupBy: "task" });
    const busy = await client.listTasks({ family: "fg-busy" });
    const item = usage.items.find((entry) => entry.key === busy.items[0]?.id);
    // 0.25 vCPU and 0.5 GB for at least the minimum minute.
    expect(item, JSON.stringify(usage)).toMatchObject({ launchType: "fargate" });
    expect(item?.vcpuSeconds).toBeGreaterThanOrEqual(15);
    expect(item?.gbSeconds).toBeGreaterThanOrEqual(30);
    const expected =
      ((item?.vcpuSeconds ?? 0) * 0.04048 + (item?.gbSeconds ?? 0) * 0.004445) / 3600;
    expect(item?.cost).toBeCloseTo(expected, 5);

    const metrics = await fetch(`${skiff.baseUrl}/v1/metrics`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const text = await metrics.text();
    expect(text).toMatch(
      /skiff_task_vcpu_seconds_total\{service="standalone\/fg-busy",launch_type="fargate"\} \d/,
    );
  });
});
