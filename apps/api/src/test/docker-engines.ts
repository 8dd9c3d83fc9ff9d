import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { promisify } from "node:util";

const run = promisify(execFile);

/** An extra Docker engine on this host: a second "node" for multi-node tests. */
export interface DockerEngine {
  name: string;
  /** For DOCKER_HOST and `docker -H`. */
  socket: string;
  /** `docker -H <socket> ...` with its output; throws on a non-zero exit. */
  docker(...args: string[]): Promise<string>;
  /** Removes its containers, stops dockerd and deletes its bridge. */
  stop(): Promise<void>;
}

export interface DockerEngineOptions {
  /** Images copied from the main engine; the test task image by default. */
  images?: string[];
  /** The bridge gets 10.<octet>.0.1/24; the octet comes from the name by default. */
  subnetOctet?: number;
  timeoutMs?: number;
}

/**
 * Starts `dockerd` as a second engine named `name` (socket /run/NAME.sock, data in
 * /var/lib/NAME, state in /run/NAME) with a bridge of its own, NAMEbr0: an engine started with
 * `--bridge none` removed docker0 when it stopped. Leftovers of a crashed earlier run (a
 * running daemon, its containers, pidfile, socket, bridge) are cleared first. Needs root.
 */
export async function startDockerEngine(
  name: string,
  options: DockerEngineOptions = {},
): Promise<DockerEngine> {
  // Interface names have at most 15 characters; "br0" takes three.
  if (!/^[a-z][a-z0-9]{0,11}$/.test(name)) throw new Error(`bad engine name "${name}"`);
  const paths = enginePaths(name);
  const octet =
    options.subnetOctet ?? 100 + ((createHash("sha256").update(name).digest()[0] ?? 0) % 100);
  const timeoutMs = options.timeoutMs ?? 30_000;

  await clearLeftovers(name);
  // dockerd 20.10 deletes the interface docker0 (the main engine's bridge, whatever --bridge
  // says) when it finds a stale "bridge" network in its store and address pools are configured
  // (daemon_unix.go, removeDefaultBridgeInterface). So: no --default-address-pool, a fresh
  // network store every start, and a check that docker0 survived.
  rmSync(`${paths.dataRoot}/network`, { recursive: true, force: true });
  const hadDocker0 = await linkExists("docker0");
  await run("ip", ["link", "add", paths.bridge, "type", "bridge"]);
  await run("ip", ["addr", "add", `10.${octet}.0.1/24`, "dev", paths.bridge]);
  await run("ip", ["link", "set", paths.bridge, "up"]);

  // Detached, so a crashed test leaves a daemon the next run finds through its pidfile.
  const log = openSync(paths.log, "w");
  const child = spawn(
    "dockerd",
    [
      "--host",
      `unix://${paths.socket}`,
      "--data-root",
      paths.dataRoot,
      "--exec-root",
      paths.execRoot,
      "--pidfile",
      paths.pidfile,
      "--bridge",
      paths.bridge,
    ],
    { detached: true, stdio: ["ignore", log, log] },
  );
  child.unref();
  closeSync(log);
  const engine = newEngine(name);
  try {
    await waitForPing(paths.socket, timeoutMs, () => child.exitCode !== null);
    if (hadDocker0 && !(await linkExists("docker0")))
      throw new Error("starting it removed docker0, the main engine's bridge");
    // A crashed run's containers come back with the daemon (stopped); none belong to this run.
    await removeAllContainers(engine);
    for (const image of options.images ?? ["skiff-test/busybox:latest"])
      await copyImage(image, engine.socket);
  } catch (error) {
    await engine.stop().catch(() => undefined);
    throw new Error(
      `engine ${name} did not start: ${(error as Error).message}\n${tail(paths.log)}`,
    );
  }
  return engine;
}

function enginePaths(name: string) {
  return {
    socket: `/run/${name}.sock`,
    pidfile: `/run/${name}.pid`,
    execRoot: `/run/${name}`,
    dataRoot: `/var/lib/${name}`,
    bridge: `${name}br0`,
    log: `/run/${name}.log`,
  };
}

function newEngine(name: string): DockerEngine {
  const paths = enginePaths(name);
  const socket = `unix://${paths.socket}`;
  const engine: DockerEngine = {
    name,
    socket,
    docker: async (...args) =>
      (await run("docker", ["-H", socket, ...args], { maxBuffer: 16 * 1024 * 1024 })).stdout,
    stop: async () => {
      if (await ping(paths.socket)) await removeAllContainers(engine).catch(() => undefined);
      await stopDaemon(paths.pidfile);
      await deleteBridge(paths.bridge);
      await deleteIptablesRules(paths.bridge);
      rmSync(paths.socket, { force: true });
      rmSync(paths.pidfile, { force: true });
    },
  };
  return engine;
}

/** Whatever a crashed earlier run left: its daemon, containers, socket, pidfile and bridge. */
async function clearLeftovers(name: string): Promise<void> {
  const paths = enginePaths(name);
  await newEngine(name).stop();
  // A daemon killed with SIGKILL leaves its managed containerd running.
  await stopDaemon(`${paths.execRoot}/containerd/containerd.pid`);
  // ...and mounts: its data root bind-mounted onto itself, container root filesystems, network
  // namespaces. Deepest first; lazily, as a dead container's may still be busy.
  const mountPoints = readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .filter((point) =>
      [paths.dataRoot, paths.execRoot].some(
        (root) => point === root || point.startsWith(`${root}/`),
      ),
    )
    .sort((a, b) => b.length - a.length);
  for (const point of mountPoints) await run("umount", ["-l", point]).catch(() => undefined);
}

async function removeAllContainers(engine: DockerEngine): Promise<void> {
  const ids = (await engine.docker("ps", "-aq")).split("\n").filter(Boolean);
  if (ids.length > 0) await engine.docker("rm", "-f", ...ids);
}

/** SIGTERM, then SIGKILL after 20 s; a missing pidfile or dead process is fine. */
async function stopDaemon(pidfile: string): Promise<void> {
  if (!existsSync(pidfile)) return;
  const pid = Number(readFileSync(pidfile, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 1 || !isAlive(pid)) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 20_000;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) {
    process.kill(pid, "SIGKILL");
    while (isAlive(pid)) await sleep(50);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie (a child of this process not yet reaped) is as good as dead.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

async function linkExists(name: string): Promise<boolean> {
  try {
    await run("ip", ["link", "show", name]);
    return true;
  } catch {
    return false;
  }
}

async function deleteBridge(bridge: string): Promise<void> {
  if (await linkExists(bridge)) await run("ip", ["link", "del", bridge]);
}

/**
 * dockerd leaves its bridge's forward and masquerade rules behind when it stops; without this
 * every run would add another copy.
 */
async function deleteIptablesRules(bridge: string): Promise<void> {
  for (const table of ["filter", "nat"]) {
    const { stdout } = await run("iptables", ["-t", table, "-S"]);
    for (const rule of stdout.split("\n")) {
      const words = rule.trim().split(/\s+/);
      if (words[0] !== "-A" || !words.includes(bridge)) continue;
      await run("iptables", ["-t", table, "-D", ...words.slice(1)]).catch(() => undefined);
    }
  }
}

/** `docker save image | docker -H socket load`, without a shell. */
async function copyImage(image: string, socket: string): Promise<void> {
  const save = spawn("docker", ["save", image], { stdio: ["ignore", "pipe", "pipe"] });
  const load = spawn("docker", ["-H", socket, "load"], { stdio: ["pipe", "pipe", "pipe"] });
  let errors = "";
  save.stderr.on("data", (chunk) => (errors += chunk));
  load.stderr.on("data", (chunk) => (errors += chunk));
  load.stdout.resume();
  save.stdout.pipe(load.stdin);
  const exit = (child: ChildProcess) =>
    new Promise<number | null>((done) => child.once("close", (code) => done(code)));
  const [saved, loaded] = await Promise.all([exit(save), exit(load)]);
  if (saved !== 0 || loaded !== 0) throw new Error(`copying ${image} failed: ${errors.trim()}`);
}

function ping(socketPath: string): Promise<boolean> {
  if (!existsSync(socketPath)) return Promise.resolve(false);
  return new Promise((done) => {
    const req = request({ socketPath, path: "/_ping", timeout: 2000 }, (res) => {
      res.resume();
      done(res.statusCode === 200);
    });
    req.on("error", () => done(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

async function waitForPing(socketPath: string, timeoutMs: number, exited: () => boolean) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited()) throw new Error("dockerd exited");
    if (await ping(socketPath)) return;
    await sleep(200);
  }
  throw new Error(`no answer on ${socketPath} within ${timeoutMs} ms`);
}

function tail(path: string): string {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-20).join("\n");
  } catch {
    return "";
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
