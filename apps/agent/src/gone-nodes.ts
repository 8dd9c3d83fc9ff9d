import { type ContainerRuntime, type ContainerState, labels } from "./container-runtime.js";
import { hasExited, stopTimeoutOf } from "./plan.js";

export interface GoneNodesSweepOptions {
  nodeId: string;
  /** This install's id (`skiff.cluster`); containers of other installs are never touched. */
  clusterId: string;
  runtime: ContainerRuntime;
  /** Which of these node ids the api says are gone (unknown or down). */
  goneNodes: (nodeIds: string[]) => Promise<string[]>;
}

/**
 * Removes the containers (and task networks) that nodes of this install left on the engine and
 * that nobody will look after: after an agent lost its state and joined as a new node, or a node
 * was deleted while its containers ran. Only containers labelled with this install's cluster id,
 * and only those of nodes the api says are gone: another live node may share the engine (the
 * all-in-one api runs a pool node and a fargate node on one). Returns how many were removed.
 */
export async function removeGoneNodesContainers(opts: GoneNodesSweepOptions): Promise<number> {
  const { runtime } = opts;
  const ours = await runtime.listContainers({ [labels.cluster]: opts.clusterId });
  const byNode = new Map<string, ContainerState[]>();
  for (const container of ours) {
    const node = container.labels[labels.node];
    if (!node || node === opts.nodeId) continue;
    byNode.set(node, [...(byNode.get(node) ?? []), container]);
  }
  if (byNode.size === 0) return 0;
  const gone = await opts.goneNodes([...byNode.keys()]);
  let removed = 0;
  for (const node of gone) {
    const containers = byNode.get(node) ?? [];
    await Promise.all(
      containers.map(async (container) => {
        if (!hasExited(container)) {
          await runtime.stopContainer(container.id, stopTimeoutOf(container));
        }
        await runtime.removeContainer(container.id);
      }),
    );
    removed += containers.length;
    // Their fargate tasks' networks, now without containers.
    for (const network of await runtime.listNetworks({ [labels.node]: node, [labels.task]: "" })) {
      await runtime.removeNetwork(network.name).catch(() => {});
    }
  }
  return removed;
}
