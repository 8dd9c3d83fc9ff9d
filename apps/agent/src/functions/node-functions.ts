import { join } from "node:path";
import type { LogLine } from "@skiff/shared";
import type Docker from "dockerode";
import type { IsolationSettings } from "../isolation.js";
import type { RegistryAuth } from "../registry-auth.js";
import { CodeCache, type FetchCode } from "./code-cache.js";
import { credentialHashOf, functionsControlKey } from "./control-key.js";
import { ControlServer } from "./control-server.js";
import { InstanceEngine } from "./instance-engine.js";
import { FunctionLogShipper } from "./instance-logs.js";
import { defaultSpareNetworks, InstanceNetworks } from "./instance-networks.js";
import { InstanceManager } from "./instances.js";
import { RuntimeApi } from "./runtime-api.js";
import type { RuntimeEvents } from "./runtime-contract.js";

/** A Runtime API server as RuntimeApi is (runtime-api.ts). */
export interface RuntimeServer extends RuntimeEvents {
  listen(): Promise<number>;
  close(): Promise<void>;
}

export interface NodeFunctionsOptions {
  nodeId: string;
  clusterId?: string | undefined;
  docker: Docker;
  /** The node credential (the control key is derived from it). */
  credential: string;
  stateDir: string;
  controlPort: number;
  runtimeApiPort: number;
  idleSeconds: number;
  codeCacheBytes: number;
  /** Fenced instance networks made ahead (SKIFF_FUNCTION_SPARE_NETWORKS). */
  spareNetworks?: number | undefined;
  isolation: IsolationSettings;
  logRotation?: { maxSize: string; maxFiles: number } | undefined;
  fetchCode: FetchCode;
  shipLogs: (functionId: string, lines: LogLine[]) => Promise<void>;
  ensureImage: (image: string, auth?: RegistryAuth) => Promise<void>;
  onError: (error: unknown, context: Record<string, unknown>) => void;
  /** Another Runtime API server (tests). */
  createRuntimeApi?: (opts: {
    identify(remoteAddress: string): string | undefined;
    port: number;
    host?: string;
  }) => RuntimeServer;
}

/**
 * Functions on a node of pool fargate: the Runtime API its instances call, the control server the
 * api calls, and the instances between them. Started before the reconciler, so fargate's fence
 * (shared settings) opens the Runtime API's port and nothing else of the node.
 */
export class NodeFunctions {
  private constructor(
    readonly runtimeApiPort: number,
    readonly controlPort: number,
    private readonly runtimeApi: RuntimeServer,
    private readonly control: ControlServer,
    readonly instances: InstanceManager,
    private readonly logs: FunctionLogShipper,
    private readonly networks: InstanceNetworks,
  ) {}

  static async start(opts: NodeFunctionsOptions): Promise<NodeFunctions> {
    let manager: InstanceManager | undefined;
    const create = opts.createRuntimeApi ?? ((o) => new RuntimeApi(o));
    const runtimeApi = create({
      identify: (address) => manager?.identify(address),
      port: opts.runtimeApiPort,
      host: "0.0.0.0",
    });
    const runtimeApiPort = await runtimeApi.listen();
    const isolation: IsolationSettings = {
      ...opts.isolation,
      egress: { ...opts.isolation.egress, openHostPorts: [runtimeApiPort] },
    };
    const engine = new InstanceEngine(opts.docker);
    const logs = new FunctionLogShipper(opts.shipLogs, (error) =>
      opts.onError(error, { step: "ship function logs" }),
    );
    const networks = new InstanceNetworks(
      opts.nodeId,
      engine,
      isolation,
      undefined,
      opts.spareNetworks ?? defaultSpareNetworks,
      (error) => opts.onError(error, { step: "make a spare instance network" }),
    );
    manager = new InstanceManager({
      nodeId: opts.nodeId,
      clusterId: opts.clusterId,
      engine,
      networks,
      code: new CodeCache(
        join(opts.stateDir, "function-code"),
        opts.fetchCode,
        opts.codeCacheBytes,
      ),
      runtimeApi,
      runtimeApiPort: () => runtimeApiPort,
      isolation,
      logs,
      ensureImage: opts.ensureImage,
      logRotation: opts.logRotation,
      idleStopMs: opts.idleSeconds * 2 * 1000,
      onError: opts.onError,
    });
    // A former agent process's instances cannot be adopted: their runtimes' connections are gone.
    await manager
      .removeLeftovers()
      .catch((error) => opts.onError(error, { step: "remove leftovers" }));
    // Spares are made once a former process's networks are gone (their subnets free again).
    networks.fill();
    manager.startIdleStopper();
    const controlKey = functionsControlKey(credentialHashOf(opts.credential));
    const control = new ControlServer({
      instances: manager,
      controlKey: () => controlKey,
      port: opts.controlPort,
      onError: opts.onError,
    });
    let controlPort: number;
    try {
      controlPort = await control.listen();
    } catch (error) {
      await runtimeApi.close();
      throw error;
    }
    return new NodeFunctions(
      runtimeApiPort,
      controlPort,
      runtimeApi,
      control,
      manager,
      logs,
      networks,
    );
  }

  /** Stops serving and removes every instance (nothing can adopt them). */
  async stop(): Promise<void> {
    await this.control.close();
    await this.instances.stopAll();
    await this.networks.close();
    await this.runtimeApi.close();
    await this.logs.stop();
  }
}
