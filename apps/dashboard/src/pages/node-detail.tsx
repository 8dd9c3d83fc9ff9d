import { ConfirmButton } from "../components/confirm-button.js";
import { PageHeader } from "../components/layout.js";
import { Empty, ErrorMessage, Loaded } from "../components/states.js";
import { StatusBadge } from "../components/status-badge.js";
import { TaskTable } from "../components/task-table.js";
import { StatsChart } from "../components/time-chart.js";
import { UsageBar } from "../components/usage-bar.js";
import { formatAgo, formatCpu, formatMemory } from "../lib/format.js";
import { navigate } from "../lib/router.js";
import { useAction } from "../lib/use-action.js";
import { usePoll } from "../lib/use-poll.js";

/** One node: capacity, attributes, its tasks, a live usage chart; drain and deregister. */
export function NodeDetail({ id }: { id: string }) {
  const node = usePoll(`node:${id}`, (client) => client.getNode(id), 3000);
  const tasks = usePoll(`node-tasks:${id}`, (client) => client.listTasks({ nodeId: id }), 3000);
  const stats = usePoll(`node-stats:${id}`, (client) => client.nodeStats(id), 5000);
  const drain = useAction((client) => client.drainNode(id), node.reload);
  const deregister = useAction(
    (client) => client.deregisterNode(id),
    () => navigate("/pools"),
  );

  return (
    <Loaded poll={node} what="the node">
      {(data) => (
        <>
          <PageHeader title={`Node ${data.name}`}>
            <button
              type="button"
              className="secondary"
              disabled={drain.busy || data.state !== "active"}
              onClick={() => drain.run()}
            >
              {data.state === "draining" ? "Draining" : "Drain"}
            </button>
            <ConfirmButton
              label="Deregister"
              question={`Deregister ${data.name}? Its agent must join again to come back.`}
              busy={deregister.busy}
              onConfirm={() => deregister.run()}
            />
          </PageHeader>
          <ErrorMessage error={drain.error ?? deregister.error} />
          <div className="grid">
            <section className="card">
              <dl className="facts">
                <dt>id</dt>
                <dd className="mono">{data.id}</dd>
                <dt>pool</dt>
                <dd>{data.pool}</dd>
                <dt>state</dt>
                <dd>
                  <StatusBadge status={data.state} />
                </dd>
                <dt>address</dt>
                <dd>{data.address}</dd>
                <dt>heartbeat</dt>
                <dd>{formatAgo(data.lastHeartbeatAt)}</dd>
                <dt>registered</dt>
                <dd>{new Date(data.registeredAt).toLocaleString()}</dd>
              </dl>
              <UsageBar
                label="cpu allocated"
                used={data.allocated.cpu}
                total={data.capacity.cpu}
                format={formatCpu}
              />
              <UsageBar
                label="memory allocated"
                used={data.allocated.memory}
                total={data.capacity.memory}
                format={formatMemory}
              />
            </section>
            <section className="card">
              <h2>Attributes</h2>
              {Object.keys(data.attributes).length === 0 ? (
                <Empty>No attributes.</Empty>
              ) : (
                <dl className="facts">
                  {Object.entries(data.attributes).map(([key, value]) => (
                    <div key={key} className="fact">
                      <dt>{key}</dt>
                      <dd>{value}</dd>
                    </div>
                  ))}
                </dl>
              )}
            </section>
          </div>
          <section className="card">
            <h2>Usage</h2>
            <Loaded poll={stats} what="usage" feature="Node stats">
              {(points) =>
                points.points.length === 0 ? (
                  <Empty>No samples from this node's agent yet.</Empty>
                ) : (
                  <StatsChart title="cpu and memory, last 10 minutes" points={points.points} />
                )
              }
            </Loaded>
          </section>
          <section className="card">
            <h2>Tasks on this node</h2>
            <Loaded poll={tasks} what="tasks">
              {(page) => <TaskTable tasks={page.items} empty="No tasks on this node." />}
            </Loaded>
          </section>
        </>
      )}
    </Loaded>
  );
}
