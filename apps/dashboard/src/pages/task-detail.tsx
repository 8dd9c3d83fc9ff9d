import { DataTable } from "../components/data-table.js";
import { PageHeader } from "../components/layout.js";
import { Empty, ErrorMessage, Loaded } from "../components/states.js";
import { StatusBadge } from "../components/status-badge.js";
import { TaskLogs } from "../components/task-logs.js";
import { StatsChart } from "../components/time-chart.js";
import { formatCpu, formatMemory } from "../lib/format.js";
import { Link } from "../lib/router.js";
import { useAction } from "../lib/use-action.js";
import { usePoll } from "../lib/use-poll.js";

/** One task: containers with exit codes, why it stopped, usage, live logs; stop. */
export function TaskDetail({ id }: { id: string }) {
  const task = usePoll(`task:${id}`, (client) => client.getTask(id), 2000);
  const stats = usePoll(`task-stats:${id}`, (client) => client.taskStats(id), 5000);
  const stop = useAction((client) => client.stopTask(id), task.reload);

  return (
    <Loaded poll={task} what="the task">
      {(data) => (
        <>
          <PageHeader title={`Task ${data.family}:${data.revision}`}>
            <button
              type="button"
              className="danger"
              disabled={stop.busy || data.desiredStatus === "stopped"}
              onClick={() => stop.run()}
            >
              {data.desiredStatus === "stopped" && data.status !== "stopped" ? "Stopping" : "Stop"}
            </button>
          </PageHeader>
          <ErrorMessage error={stop.error} />
          <section className="card">
            <dl className="facts">
              <dt>id</dt>
              <dd className="mono">{data.id}</dd>
              <dt>status</dt>
              <dd>
                <StatusBadge status={data.status} />{" "}
                <span className="muted">desired {data.desiredStatus}</span>
              </dd>
              {data.pendingReason ? (
                <>
                  <dt>pending because</dt>
                  <dd>{data.pendingReason}</dd>
                </>
              ) : null}
              {data.stopCode || data.stoppedReason ? (
                <>
                  <dt>stopped</dt>
                  <dd data-testid="stop-reason">
                    {data.stopCode}
                    {data.stoppedReason ? `: ${data.stoppedReason}` : ""}
                  </dd>
                </>
              ) : null}
              <dt>service</dt>
              <dd>
                {data.service ? (
                  <Link to={`/services/${encodeURIComponent(data.service)}`}>{data.service}</Link>
                ) : (
                  "–"
                )}
              </dd>
              <dt>node</dt>
              <dd>{data.nodeId ? <Link to={`/nodes/${data.nodeId}`}>{data.nodeId}</Link> : "–"}</dd>
              <dt>launch type</dt>
              <dd>
                {data.launchType} ({data.pool})
              </dd>
              <dt>size</dt>
              <dd>
                {formatCpu(data.cpu)}, {formatMemory(data.memory)}
              </dd>
              <dt>created / started / stopped</dt>
              <dd>
                {[data.createdAt, data.startedAt, data.stoppedAt]
                  .map((time) => (time ? new Date(time).toLocaleTimeString() : "–"))
                  .join(" / ")}
              </dd>
            </dl>
          </section>
          <section className="card">
            <h2>Containers</h2>
            <DataTable
              items={data.containers}
              columns={["name", "image", "status", "health", "exit code", "reason", "ports"]}
              row={(container) => (
                <tr key={container.name}>
                  <td>{container.name}</td>
                  <td className="mono">{container.image}</td>
                  <td>
                    <StatusBadge status={container.status} />
                  </td>
                  <td>{container.health}</td>
                  <td>{container.exitCode ?? "–"}</td>
                  <td>{container.reason ?? "–"}</td>
                  <td>
                    {container.hostPorts
                      .map((port) => `${port.hostPort}→${port.containerPort}/${port.protocol}`)
                      .join(", ") || "–"}
                  </td>
                </tr>
              )}
            />
          </section>
          <section className="card">
            <h2>Usage</h2>
            <Loaded poll={stats} what="usage" feature="Task stats">
              {(points) =>
                points.points.length === 0 ? (
                  <Empty>No samples yet.</Empty>
                ) : (
                  <StatsChart title="cpu and memory, last 10 minutes" points={points.points} />
                )
              }
            </Loaded>
          </section>
          <section className="card">
            <h2>Logs</h2>
            <TaskLogs taskId={id} />
          </section>
        </>
      )}
    </Loaded>
  );
}
