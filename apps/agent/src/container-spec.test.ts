import type { Assignment } from "@skiff/shared";
import { describe, expect, it } from "vitest";
import { containerSpecFor } from "./container-spec.js";
import { hostPortsFrom, toDockerCreateOptions } from "./docker-runtime.js";

const assignment: Assignment = {
  taskId: "task_1",
  desiredStatus: "running",
  family: "web",
  revision: 4,
  service: "frontend",
  launchType: "pool",
  cpu: 512,
  memory: 256,
  containers: [],
};

describe("containerSpecFor + toDockerCreateOptions", () => {
  it("labels, limits, ports, env and health check of an assigned container", () => {
    const spec = containerSpecFor("node_1", assignment, {
      name: "web",
      image: "skiff-test/busybox:latest",
      command: ["httpd", "-f"],
      entryPoint: ["/bin/sh", "-c"],
      env: { MODE: "prod" },
      portMappings: [
        { containerPort: 8080, protocol: "tcp" },
        { containerPort: 53, hostPort: 5353, protocol: "udp" },
      ],
      healthCheck: {
        command: ["CMD-SHELL", "wget -q -O- localhost:8080"],
        intervalSeconds: 5,
        timeoutSeconds: 2,
        retries: 3,
        startPeriodSeconds: 1,
      },
      essential: true,
      stopTimeoutSeconds: 7,
    });
    const options = toDockerCreateOptions(spec);
    expect(options).toMatchObject({
      name: "skiff-task_1-web",
      Image: "skiff-test/busybox:latest",
      Labels: {
        "skiff.task": "task_1",
        "skiff.family": "web",
        "skiff.node": "node_1",
        "skiff.container": "web",
        "skiff.service": "frontend",
      },
      Cmd: ["httpd", "-f"],
      Entrypoint: ["/bin/sh", "-c"],
      Env: ["MODE=prod"],
      ExposedPorts: { "8080/tcp": {}, "53/udp": {} },
      StopTimeout: 7,
      Healthcheck: {
        Test: ["CMD-SHELL", "wget -q -O- localhost:8080"],
        Interval: 5e9,
        Timeout: 2e9,
        Retries: 3,
        StartPeriod: 1e9,
      },
      HostConfig: {
        CpuShares: 512,
        NanoCpus: 0.5e9,
        Memory: 256 * 1024 * 1024,
        MemorySwap: 256 * 1024 * 1024,
        PortBindings: { "8080/tcp": [{ HostPort: "" }], "53/udp": [{ HostPort: "5353" }] },
      },
    });
  });

  it("carries the node's cluster label and rotates the container's log files", () => {
    const definition = { name: "w", image: "i", essential: true, stopTimeoutSeconds: 1 };
    const options = toDockerCreateOptions(
      containerSpecFor("node_1", assignment, definition, undefined, {
        clusterId: "cl_1",
        logRotation: { maxSize: "10m", maxFiles: 3 },
      }),
    );
    expect(options.Labels).toMatchObject({ "skiff.cluster": "cl_1" });
    expect(options.HostConfig?.LogConfig).toEqual({
      Type: "json-file",
      Config: { "max-size": "10m", "max-file": "3" },
    });
    // Without settings: no cluster label, the engine's own logging.
    const plain = toDockerCreateOptions(containerSpecFor("node_1", assignment, definition));
    expect(plain.Labels).not.toHaveProperty("skiff.cluster");
    expect(plain.HostConfig?.LogConfig).toBeUndefined();
  });

  it("prefers the container's own cpu and memory, and leaves out a service label when none", () => {
    const spec = containerSpecFor(
      "node_1",
      { ...assignment, service: null },
      { name: "w", image: "i", cpu: 128, memory: 64, essential: true, stopTimeoutSeconds: 30 },
    );
    const options = toDockerCreateOptions(spec);
    expect(options.HostConfig).toMatchObject({ CpuShares: 128, Memory: 64 * 1024 * 1024 });
    expect(options.Labels).not.toHaveProperty("skiff.service");
    expect(options.Healthcheck).toBeUndefined();
    expect(options.Cmd).toBeUndefined();
  });

  it("runs a bare health check command without a shell", () => {
    const spec = containerSpecFor("n", assignment, {
      name: "w",
      image: "i",
      essential: true,
      stopTimeoutSeconds: 30,
      healthCheck: {
        command: ["true"],
        intervalSeconds: 10,
        timeoutSeconds: 5,
        retries: 3,
        startPeriodSeconds: 0,
      },
    });
    expect(toDockerCreateOptions(spec).Healthcheck?.Test).toEqual(["CMD", "true"]);
  });
});

describe("hostPortsFrom", () => {
  it("takes the IPv4 binding and skips unpublished ports", () => {
    expect(
      hostPortsFrom({
        "8080/tcp": [
          { HostIp: "::", HostPort: "49154" },
          { HostIp: "0.0.0.0", HostPort: "49153" },
        ],
        "9090/tcp": null,
      }),
    ).toEqual([{ containerPort: 8080, hostPort: 49153, protocol: "tcp" }]);
  });
});
