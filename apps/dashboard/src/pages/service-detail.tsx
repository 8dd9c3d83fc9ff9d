import { type Service, serviceGatewayUrl } from "@skiff/shared";
import { type FormEvent, useState } from "react";
import { ConfirmButton } from "../components/confirm-button.js";
import { DeploymentList } from "../components/deployment-list.js";
import { PageHeader } from "../components/layout.js";
import { Empty, ErrorMessage, Loaded } from "../components/states.js";
import { StatusBadge } from "../components/status-badge.js";
import { TaskTable } from "../components/task-table.js";
import { formatAgo } from "../lib/format.js";
import { Link, navigate } from "../lib/router.js";
import { useAction } from "../lib/use-action.js";
import { usePoll } from "../lib/use-poll.js";

/** One service: scale, deploy a revision and watch it roll, events, tasks, delete. */
export function ServiceDetail({ name }: { name: string }) {
  const service = usePoll(`service:${name}`, (client) => client.getService(name), 2000);
  // The gateway's real address (domain, port, or an operator's template), not the browser's host.
  const info = usePoll("info", (client) => client.info());
  const tasks = usePoll(
    `service-tasks:${name}`,
    (client) => client.listTasks({ service: name, limit: 100 }),
    2000,
  );
  const remove = useAction(
    (client) => client.deleteService(name),
    () => navigate("/services"),
  );

  return (
    <Loaded poll={service} what="the service">
      {(data) => (
        <>
          <PageHeader title={`Service ${data.name}`}>
            <ConfirmButton
              label="Delete"
              question={`Delete ${data.name}? Its ${data.runningCount} task(s) stop.`}
              busy={remove.busy}
              onConfirm={() => remove.run()}
            />
          </PageHeader>
          <ErrorMessage error={remove.error} />
          <div className="grid">
            <section className="card">
              <dl className="facts">
                <dt>status</dt>
                <dd>
                  <StatusBadge status={data.status} />
                </dd>
                <dt>running</dt>
                <dd data-testid="running-count">
                  {data.runningCount} of {data.desiredCount} desired ({data.pendingCount} pending)
                </dd>
                <dt>task definition</dt>
                <dd>
                  <Link
                    to={`/task-definitions/${encodeURIComponent(data.taskDefinition.split(":")[0] ?? "")}`}
                  >
                    {data.taskDefinition}
                  </Link>
                </dd>
                <dt>launch type</dt>
                <dd>
                  {data.launchType}
                  {data.launchType === "pool" ? ` on pool ${data.pool}` : ""}
                </dd>
                <dt>placement</dt>
                <dd>{data.placement.strategy}</dd>
                <dt>deployment</dt>
                <dd>
                  min {data.deployment.minimumHealthyPercent}%, max {data.deployment.maximumPercent}
                  %, circuit breaker {data.deployment.circuitBreaker.enable ? "on" : "off"}
                </dd>
                <dt>load balancer</dt>
                <dd>
                  {!data.loadBalancer ? (
                    "none"
                  ) : info.data ? (
                    <a
                      href={serviceGatewayUrl(info.data, data.name)}
                      target="_blank"
                      rel="noreferrer"
                    >
                      {serviceGatewayUrl(info.data, data.name)}
                    </a>
                  ) : (
                    <span className="muted">on the gateway</span>
                  )}
                  {data.loadBalancer ? (
                    <span className="muted">
                      {" "}
                      → {data.loadBalancer.containerName}:{data.loadBalancer.containerPort}
                    </span>
                  ) : null}
                </dd>
              </dl>
            </section>
            <section className="card">
              <ScaleForm service={data} onDone={service.reload} />
              <DeployForm service={data} onDone={service.reload} />
            </section>
          </div>
          <section className="card">
            <h2>Deployments</h2>
            <DeploymentList deployments={data.deployments} desiredCount={data.desiredCount} />
          </section>
          <div className="grid">
            <section className="card">
              <h2>Tasks</h2>
              <Loaded poll={tasks} what="tasks">
                {(page) => <TaskTable tasks={page.items} empty="No tasks." />}
              </Loaded>
            </section>
            <section className="card">
              <h2>Events</h2>
              {data.events.length === 0 ? (
                <Empty>No events yet.</Empty>
              ) : (
                <ul className="events" aria-label="Events">
                  {data.events.map((event) => (
                    <li key={event.id}>
                      <span className="muted" title={event.createdAt}>
                        {formatAgo(event.createdAt)}
                      </span>{" "}
                      {event.message}
                    </li>
                  ))}
                </ul>
              )}
            </section>
          </div>
        </>
      )}
    </Loaded>
  );
}

function ScaleForm({ service, onDone }: { service: Service; onDone: () => void }) {
  const [count, setCount] = useState(String(service.desiredCount));
  const scale = useAction(
    (client, desiredCount: number) => client.updateService(service.name, { desiredCount }),
    onDone,
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void scale.run(Number(count));
  };
  return (
    <form className="inline-form" onSubmit={submit}>
      <label>
        Desired count
        <input
          name="desiredCount"
          type="number"
          min={0}
          value={count}
          onChange={(e) => setCount(e.target.value)}
        />
      </label>
      <button type="submit" disabled={scale.busy}>
        Scale
      </button>
      <ErrorMessage error={scale.error} />
    </form>
  );
}

function DeployForm({ service, onDone }: { service: Service; onDone: () => void }) {
  const family = service.taskDefinition.split(":")[0] ?? "";
  const latest = usePoll(`td:${family}`, (client) => client.getTaskDefinition(family), 10_000);
  const [revision, setRevision] = useState("");
  const deploy = useAction(
    (client, taskDefinition: string) => client.updateService(service.name, { taskDefinition }),
    onDone,
  );
  const newest = latest.data?.revision ?? 0;
  const chosen = revision || String(newest);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void deploy.run(`${family}:${chosen}`);
  };
  return (
    <form className="inline-form" onSubmit={submit}>
      <label>
        Deploy revision of {family}
        <select name="revision" value={chosen} onChange={(e) => setRevision(e.target.value)}>
          {Array.from({ length: newest }, (_, index) => newest - index).map((value) => (
            <option key={value} value={value}>
              {family}:{value}
              {`${family}:${value}` === service.taskDefinition ? " (current)" : ""}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={deploy.busy || newest === 0}>
        Deploy
      </button>
      <ErrorMessage error={deploy.error} />
    </form>
  );
}
