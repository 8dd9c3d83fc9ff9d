import { DataTable } from "../components/data-table.js";
import { JoinTokens } from "../components/join-tokens.js";
import { PageHeader } from "../components/layout.js";
import { Loaded } from "../components/states.js";
import { StatusBadge } from "../components/status-badge.js";
import { formatAgo, formatCpu, formatMemory } from "../lib/format.js";
import { Link } from "../lib/router.js";
import { usePoll } from "../lib/use-poll.js";

/** One pool: its join tokens (new, listed, revoked) and its nodes. */
export function PoolDetail({ name }: { name: string }) {
  // The API has no single-pool read; the list is short.
  const pools = usePoll("pools", (client) => client.listPools(), 5000);
  const nodes = usePoll(`pool-nodes:${name}`, (client) => client.listNodes({ pool: name }), 5000);

  return (
    <Loaded poll={pools} what="the pool">
      {(items) => {
        const pool = items.find((item) => item.name === name);
        if (!pool)
          return (
            <div className="state empty">
              No pool {name}. <Link to="/pools">Back to pools</Link>
            </div>
          );
        return (
          <>
            <PageHeader title={`Pool ${pool.name}`}>
              <Link to="/pools">All pools</Link>
            </PageHeader>
            <JoinTokens pool={pool.name} />
            <section className="card">
              <h2>Nodes</h2>
              <p className="hint">
                {pool.nodes.active} active, {pool.nodes.draining} draining, {pool.nodes.down} down.
              </p>
              <Loaded poll={nodes} what="nodes">
                {(list) => (
                  <DataTable
                    items={list}
                    empty="No nodes in this pool. Create a join token above and start an agent with it."
                    columns={["node", "state", "cpu allocated", "memory allocated", "heartbeat"]}
                    row={(node) => (
                      <tr key={node.id}>
                        <td>
                          <Link to={`/nodes/${node.id}`}>{node.name}</Link>
                        </td>
                        <td>
                          <StatusBadge status={node.state} />
                        </td>
                        <td>
                          {formatCpu(node.allocated.cpu)} / {formatCpu(node.capacity.cpu)}
                        </td>
                        <td>
                          {formatMemory(node.allocated.memory)} /{" "}
                          {formatMemory(node.capacity.memory)}
                        </td>
                        <td>{formatAgo(node.lastHeartbeatAt)}</td>
                      </tr>
                    )}
                  />
                )}
              </Loaded>
            </section>
          </>
        );
      }}
    </Loaded>
  );
}
