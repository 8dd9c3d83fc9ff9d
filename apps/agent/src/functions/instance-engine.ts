import type { Readable } from "node:stream";
import type Docker from "dockerode";

// The few engine calls function instances need, straight through dockerode: they create, copy
// code into, start, watch and remove containers on the invoke path, so no call here may add a
// round trip the start does not need (no inspect after create, the address is chosen up front).

/** Docker's HTTP status on a refused request (dockerode errors carry it). */
export function engineStatusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/** The engine's own message, without dockerode's "(HTTP code 404) ..." prefix. */
export function engineMessageOf(error: unknown): string {
  const json = (error as { json?: { message?: unknown } } | null)?.json;
  if (typeof json?.message === "string") return json.message;
  return error instanceof Error ? error.message : String(error);
}

/** How a container ended, as far as the engine says. */
export interface ContainerEnd {
  exitCode: number;
  oomKilled: boolean;
}

/** What an image function's image says of itself: Lambda reads its handler and code root there. */
export interface ImageDefaults {
  cmd: string[];
  workingDir: string;
  env: Record<string, string>;
}

export class InstanceEngine {
  constructor(readonly docker: Docker) {}

  async imageDefaults(image: string): Promise<ImageDefaults> {
    const { Config: config } = await this.docker.getImage(image).inspect();
    const env: Record<string, string> = {};
    for (const entry of config?.Env ?? []) {
      const at = entry.indexOf("=");
      if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
    }
    return { cmd: config?.Cmd ?? [], workingDir: config?.WorkingDir ?? "", env };
  }

  async createNetwork(
    name: string,
    labels: Record<string, string>,
    subnet: string,
    gateway: string,
  ): Promise<void> {
    await this.docker.createNetwork({
      Name: name,
      Driver: "bridge",
      CheckDuplicate: true,
      Labels: labels,
      IPAM: { Driver: "default", Config: [{ Subnet: subnet, Gateway: gateway }] },
    });
  }

  async networks(
    label: string,
  ): Promise<{ name: string; subnet: string | undefined; labels: Record<string, string> }[]> {
    const list = await this.docker.listNetworks({ filters: { label: [label] } });
    return list.map((network) => ({
      name: network.Name,
      subnet: network.IPAM?.Config?.[0]?.Subnet,
      labels: network.Labels ?? {},
    }));
  }

  async removeNetwork(name: string): Promise<void> {
    try {
      await this.docker.getNetwork(name).remove();
    } catch (error) {
      if (engineStatusOf(error) !== 404) throw error;
    }
  }

  /** Creates the container (not started: code may be copied in first). */
  async create(options: Docker.ContainerCreateOptions): Promise<string> {
    return (await this.docker.createContainer(options)).id;
  }

  /** Copies `archive` (a tar) to `path` in the container. */
  async putArchive(id: string, archive: Buffer, path: string): Promise<void> {
    await this.docker.getContainer(id).putArchive(archive, { path });
  }

  async start(id: string): Promise<void> {
    await this.docker.getContainer(id).start();
  }

  /**
   * Resolves when the container ends (its exit code and whether the kernel killed it for
   * memory); rejects only when the engine cannot be asked. One long request per instance.
   */
  async waitForEnd(id: string): Promise<ContainerEnd> {
    const container = this.docker.getContainer(id);
    const answer = (await container.wait()) as { StatusCode?: number };
    const info = await container.inspect().catch(() => undefined);
    return {
      exitCode: answer.StatusCode ?? info?.State.ExitCode ?? -1,
      oomKilled: info?.State.OOMKilled ?? false,
    };
  }

  async remove(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (error) {
      const status = engineStatusOf(error);
      if (status !== 404 && status !== 409) throw error;
    }
  }

  /** The container's output as it comes (timestamped, multiplexed as `docker logs` gives it). */
  async followLogs(id: string): Promise<Readable> {
    return (await this.docker.getContainer(id).logs({
      follow: true,
      stdout: true,
      stderr: true,
      timestamps: true,
    })) as unknown as Readable;
  }

  /** The engine's stats stream (one JSON document per line, about once a second). */
  async followStats(id: string): Promise<Readable> {
    return (await this.docker.getContainer(id).stats({ stream: true })) as unknown as Readable;
  }

  /** Containers carrying this label (`key` or `key=value`), running or not. */
  async containers(label: string): Promise<{ id: string; labels: Record<string, string> }[]> {
    const list = await this.docker.listContainers({ all: true, filters: { label: [label] } });
    return list.map((container) => ({ id: container.Id, labels: container.Labels ?? {} }));
  }
}
