import type { Deployment } from "@skiff/shared";
import { formatAgo, percentOf } from "../lib/format.js";
import { Empty } from "./states.js";
import { StatusBadge } from "./status-badge.js";

/** A service's deployments, the rolling one with its progress towards the desired count. */
export function DeploymentList({
  deployments,
  desiredCount,
}: {
  deployments: Deployment[];
  desiredCount: number;
}) {
  if (deployments.length === 0) return <Empty>No deployments.</Empty>;
  return (
    <ul className="deployments" aria-label="Deployments">
      {deployments.map((deployment) => {
        const target = deployment.status === "primary" ? desiredCount : 0;
        const progress =
          deployment.status === "primary" ? percentOf(deployment.runningCount, target) : 0;
        return (
          <li key={deployment.id} className="deployment">
            <div className="deployment-head">
              <strong>{deployment.taskDefinition}</strong>{" "}
              <StatusBadge status={deployment.status} />{" "}
              <StatusBadge status={deployment.rolloutState.replace("_", " ")} />{" "}
              <span className="muted">started {formatAgo(deployment.createdAt)}</span>
            </div>
            <div className="muted">
              {deployment.runningCount} running, {deployment.pendingCount} pending,{" "}
              {deployment.failedTasks} failed
              {deployment.status === "primary" ? ` of ${target} desired` : " (draining)"}
            </div>
            {deployment.status === "primary" ? (
              <div
                className="usage-bar-track"
                role="progressbar"
                aria-label={`Rollout of ${deployment.taskDefinition}`}
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={progress}
              >
                <div className="usage-bar-fill" style={{ width: `${progress}%` }} />
              </div>
            ) : null}
            {deployment.rolloutReason ? (
              <div className="muted">{deployment.rolloutReason}</div>
            ) : null}
          </li>
        );
      })}
    </ul>
  );
}
