import { type FormEvent, useState } from "react";
import { DataTable } from "../components/data-table.js";
import { PageHeader } from "../components/layout.js";
import { ErrorMessage, Loaded } from "../components/states.js";
import { StatusBadge } from "../components/status-badge.js";
import { formatAgo, formatCpu, formatMemory } from "../lib/format.js";
import { Link } from "../lib/router.js";
import { useAction } from "../lib/use-action.js";
import { usePoll } from "../lib/use-poll.js";

/** Pools with their nodes; new pools. A pool's own page has its join tokens. */
export function Pools() {
  const pools = usePoll("pools", (client) => client.listPools(), 5000);
  const nodes = usePoll("nodes", (client) => client.listNodes(), 5000);
  const [name, setName] = useState("");
  const create = useAction((client, pool: string) => client.createPool(pool), pools.reload);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (await create.run(name.trim())) setName("");
  };

  return (
    <>
      <PageHeader title="Pools and nodes" />
      <section className="card">
        <h2>Pools</h2>
        <Loaded poll={pools} what="pools">
          {(items) => (
            <DataTable
              items={items}
              empty="No pools yet."
              columns={["pool", "active", "draining", "down", ""]}
              row={(pool) => (
                <tr key={pool.name}>
                  <td>
                    <Link to={`/pools/${encodeURIComponent(pool.name)}`}>{pool.name}</Link>
                  </td>
                  <td>{pool.nodes.active}</td>
                  <td>{pool.nodes.draining}</td>
                  <td>{pool.nodes.down}</td>
                  <td className="row-actions">
                    <Link
                      to={`/pools/${encodeURIComponent(pool.name)}`}
                      className="button secondary"
                    >
                      Join tokens for {pool.name}
                    </Link>
                  </td>
                </tr>
              )}
            />
          )}
        </Loaded>
        <form className="inline-form" onSubmit={submit}>
          <label>
            New pool
            <input
              value={name}
              onChange={(event) => setName(event.target.value)}
              placeholder="gpu"
              required
            />
          </label>
          <button type="submit" disabled={create.busy}>
            Create pool
          </button>
        </form>
        <ErrorMessage error={create.error} />
      </section>

      <section className="card">
        <h2>Nodes</h2>
        <Loaded poll={nodes} what="nodes">
          {(items) => (
            <DataTable
              items={items}
              empty="No nodes. Open a pool above, create a join token and start an agent with it."
              columns={["node", "pool", "state", "cpu allocated", "memory allocated", "heartbeat"]}
              row={(node) => (
                <tr key={node.id}>
                  <td>
                    <Link to={`/nodes/${node.id}`}>{node.name}</Link>
                    <div className="muted mono">{node.id}</div>
                  </td>
                  <td>{node.pool}</td>
                  <td>
                    <StatusBadge status={node.state} />
                  </td>
                  <td>
                    {formatCpu(node.allocated.cpu)} / {formatCpu(node.capacity.cpu)}
                  </td>
                  <td>
                    {formatMemory(node.allocated.memory)} / {formatMemory(node.capacity.memory)}
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
}
