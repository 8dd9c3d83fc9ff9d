import type { Assignment, ContainerDefinition } from "@skiff/shared";
import { describe, expect, it } from "vitest";
import { ContainerRequestError } from "./container-runtime.js";
import { containerSpecFor } from "./container-spec.js";
import { toDockerCreateOptions } from "./docker-runtime.js";

const container: ContainerDefinition = {
  name: "app",
  image: "skiff-test/busybox:latest",
  env: { MODE: "prod" },
  secrets: [{ name: "DB_PASSWORD", valueFrom: "db-password" }],
  essential: true,
  stopTimeoutSeconds: 5,
};

const assignment: Assignment = {
  taskId: "task_1",
  desiredStatus: "running",
  family: "app",
  revision: 1,
  service: null,
  launchType: "pool",
  cpu: 256,
  memory: 128,
  containers: [container],
  secrets: { "db-password": "s3cr3t-value" },
};

describe("container secrets on the agent", () => {
  it("puts the delivered value into the container's env under the variable's name", () => {
    const options = toDockerCreateOptions(containerSpecFor("node_1", assignment, container));
    expect(options.Env).toEqual(["MODE=prod", "DB_PASSWORD=s3cr3t-value"]);
  });

  it("fails the container, naming the secret but no value, when a value was not delivered", () => {
    const without = { ...assignment, secrets: {} };
    expect(() => containerSpecFor("node_1", without, container)).toThrow(ContainerRequestError);
    expect(() => containerSpecFor("node_1", without, container)).toThrow(/db-password/);
  });
});
