import { defaultPool, fargatePool, type LaunchType, type Placement } from "@skiff/shared";
import { ApiError } from "../../lib/errors.js";

/**
 * The pool a task of this launch type runs in. Fargate tasks run on the platform's own capacity
 * (the `fargate` pool): users never name it, and pool tasks never land on it.
 */
export function poolFor(launchType: LaunchType, pool: string | undefined): string {
  if (launchType === "fargate") {
    if (pool !== undefined) {
      throw new ApiError(
        "ValidationError",
        "pool: fargate tasks run on platform capacity and take no pool; leave pool out",
      );
    }
    return fargatePool;
  }
  if (pool === fargatePool) {
    throw new ApiError(
      "ValidationError",
      `pool: ${fargatePool} is the platform's capacity; use launchType fargate to run there`,
    );
  }
  return pool ?? defaultPool;
}

/**
 * Fargate tasks spread over the platform's nodes unless told otherwise; constraints on node
 * attributes are refused, since users never see those nodes.
 */
export function placementFor(
  launchType: LaunchType,
  placement: Placement | undefined,
  fallback: Placement["strategy"],
): Placement {
  if (launchType !== "fargate") return placement ?? { strategy: fallback, constraints: [] };
  if (placement?.constraints.some((rule) => rule.type !== "distinctHost")) {
    throw new ApiError(
      "ValidationError",
      "placement.constraints: fargate tasks cannot be constrained by node attributes",
    );
  }
  return placement ?? { strategy: "spread", constraints: [] };
}
