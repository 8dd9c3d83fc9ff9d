import type { JoinToken } from "@skiff/shared";
import { type FormEvent, useState } from "react";
import { CopyBlock } from "../components/copy-block.js";
import { DataTable } from "../components/data-table.js";
import { PageHeader } from "../components/layout.js";
import { ErrorMessage, Loaded } from "../components/states.js";
import { StatusBadge } from "../components/status-badge.js";
import { agentStartCommands } from "../lib/commands.js";
import { formatAgo, formatCpu, formatMemory } from "../lib/format.js";
import { Link } from "../lib/router.js";
import { useAction } from "../lib/use-action.js";
import { usePoll } from "../lib/use-poll.js";

/** Pools with their nodes; new pools; join tokens with the command that starts an agent. */
export function Pools() {
  const pools = usePoll("pools", (client) => client.listPools(), 5000);
  const nodes = usePoll("nodes", (client) => client.listNodes(), 5000);
  const [name, setName] = useState("");
  const [joinToken, setJoinToken] = useState<JoinToken | null>(null);
  const create = useAction((client, pool: string) => client.createPool(pool), pools.reload);
  const join = useAction(async (client, pool: string) =>
    // One agent per token: a leaked command admits no second node.
    setJoinToken(await client.createJoinToken(pool, undefined, 1)),
  );

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
                  <td>{pool.name}</td>
                  <td>{pool.nodes.active}</td>
                  <td>{pool.nodes.draining}</td>
                  <td>{pool.nodes.down}</td>
                  <td className="row-actions">
                    <button
                      type="button"
                      className="secondary"
                      disabled={join.busy}
                      onClick={() => join.run(pool.name)}
                    >
                      Join token for {pool.name}
                    </button>
                  </td>
                </tr>
              )}
            />
          )}
        </Loaded>
        <ErrorMessage error={join.error} />
        {joinToken ? <JoinCommands joinToken={joinToken} /> : null}
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
              empty="No nodes. Create a join token above and start an agent with it."
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

function JoinCommands({ joinToken }: { joinToken: JoinToken }) {
  const commands = agentStartCommands(window.location.origin, joinToken.token);
  return (
    <section className="join-token" aria-label="Join token">
      <p>
        Join token for pool <strong>{joinToken.pool}</strong>, valid until{" "}
        {new Date(joinToken.expiresAt).toLocaleString()}, for one node. It is shown only now.{" "}
        <code>SKIFF_API_URL</code> is this page's address: it must be one the new node reaches. On
        the new node, from a Skiff checkout (built with <code>npm run build</code>):
      </p>
      <CopyBlock label="Agent start command" text={commands.node} />
      <p>
        or with the agent image (built by <code>docker compose build agent</code>):
      </p>
      <CopyBlock label="Agent container command" text={commands.docker} />
    </section>
  );
}
