import type { Service } from "@skiff/shared";

/** ECS's steady state: as many running as desired, nothing pending, no rollout under way. */
export function isSteady(service: Service): boolean {
  return (
    service.runningCount === service.desiredCount &&
    service.pendingCount === 0 &&
    service.deployments.every((deployment) => deployment.rolloutState !== "in_progress")
  );
}
