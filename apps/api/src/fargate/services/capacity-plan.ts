/** How many nodes of `node` size hold `pending` tasks (each placed whole on one node). */
export function nodesFor(
  pending: { cpu: number; memory: number }[],
  node: { cpu: number; memory: number },
): number {
  // First fit, largest first: a fair estimate of what the scheduler will manage.
  const nodes: { cpu: number; memory: number }[] = [];
  const sorted = [...pending].sort((a, b) => b.memory - a.memory || b.cpu - a.cpu);
  for (const task of sorted) {
    if (task.cpu > node.cpu || task.memory > node.memory) continue; // fits no node of this size
    const room = nodes.find((free) => free.cpu >= task.cpu && free.memory >= task.memory);
    if (room) {
      room.cpu -= task.cpu;
      room.memory -= task.memory;
    } else {
      nodes.push({ cpu: node.cpu - task.cpu, memory: node.memory - task.memory });
    }
  }
  return nodes.length;
}
