import type { Node, Service } from "@skiff/shared";
import { PageHeader } from "../components/layout.js";
import { Empty, Loaded } from "../components/states.js";
import { StatusBadge } from "../components/status-badge.js";
import { UsageBar } from "../components/usage-bar.js";
import { formatAgo, formatCpu, formatMemory, formatUsd } from "../lib/format.js";
import { Link } from "../lib/router.js";
import { isSteady } from "../lib/service-state.js";
import { usePoll } from "../lib/use-poll.js";

/** The platform at a glance: capacity by pool, task counts, unsteady services, events, cost. */
export function Overview() {
  const nodes = usePoll("nodes", (client) => client.listNodes(), 5000);
  const services = usePoll("services", (client) => client.listServices(), 5000);
  const counts = usePoll(
    "task-counts",
    async (client) => {
      const [running, pending] = await Promise.all([
        client.listTasks({ status: "running", limit: 500 }),
        client.listTasks({ status: "pending", limit: 500 }),
      ]);
      return { running: countText(running), pending: countText(pending) };
    },
    5000,
  );
  const usage = usePoll(
    "usage-month",
    (client) => {
      const now = new Date();
      const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
      return client.usage({ from: from.toISOString(), to: now.toISOString(), groupBy: "service" });
    },
    60_000,
  );

  return (
    <>
      <PageHeader title="Overview" />
      <div className="grid">
        <section className="card">
          <h2>Tasks</h2>
          <Loaded poll={counts} what="task counts">
            {(data) => (
              <div className="figures">
                <Link to="/tasks?status=running" className="figure">
                  <strong>{data.running}</strong> running
                </Link>
                <Link to="/tasks?status=pending" className="figure">
                  <strong>{data.pending}</strong> pending
                </Link>
              </div>
            )}
          </Loaded>
        </section>
        <section className="card">
          <h2>Fargate usage this month</h2>
          <Loaded poll={usage} what="usage" feature="Usage metering">
            {(data) => (
              <div className="figures">
                <span className="figure">
                  <strong>{formatUsd(data.total.cost)}</strong> cost
                </span>
                <span className="figure">
                  <strong>{Math.round(data.total.vcpuSeconds / 3600)}</strong> vCPU-hours
                </span>
                <span className="figure">
                  <strong>{Math.round(data.total.gbSeconds / 3600)}</strong> GB-hours
                </span>
              </div>
            )}
          </Loaded>
        </section>
      </div>

      <section className="card">
        <h2>Capacity by pool</h2>
        <Loaded poll={nodes} what="nodes">
          {(items) =>
            items.length === 0 ? (
              <Empty>
                No nodes yet. <Link to="/pools">Create a join token</Link> and start an agent.
              </Empty>
            ) : (
              <PoolCapacity nodes={items} />
            )
          }
        </Loaded>
      </section>

      <div className="grid">
        <section className="card">
          <h2>Services not at steady state</h2>
          <Loaded poll={services} what="services">
            {(items) => <Unsteady services={items} />}
          </Loaded>
        </section>
        <section className="card">
          <h2>Recent events</h2>
          <Loaded poll={services} what="events">
            {(items) => <RecentEvents services={items} />}
          </Loaded>
        </section>
      </div>
    </>
  );
}

function countText(page: { items: unknown[]; nextCursor: string | null }): string {
  return page.nextCursor ? `${page.items.length}+` : String(page.items.length);
}

function PoolCapacity({ nodes }: { nodes: Node[] }) {
  const pools = new Map<string, Node[]>();
  for (const node of nodes) pools.set(node.pool, [...(pools.get(node.pool) ?? []), node]);
  return (
    <div className="pool-list">
      {[...pools].map(([pool, members]) => {
        const live = members.filter((node) => node.state !== "down");
        const sum = (pick: (node: Node) => number) =>
          live.reduce((total, node) => total + pick(node), 0);
        return (
          <div key={pool} className="pool-capacity">
            <h3>
              {pool}{" "}
              <span className="muted">
                {members.length} node(s), {live.length} up
              </span>
            </h3>
            <UsageBar
              label="cpu"
              used={sum((n) => n.allocated.cpu)}
              total={sum((n) => n.capacity.cpu)}
              format={formatCpu}
            />
            <UsageBar
              label="memory"
              used={sum((n) => n.allocated.memory)}
              total={sum((n) => n.capacity.memory)}
              format={formatMemory}
            />
          </div>
        );
      })}
    </div>
  );
}

function Unsteady({ services }: { services: Service[] }) {
  const unsteady = services.filter((service) => !isSteady(service));
  if (services.length === 0) return <Empty>No services yet.</Empty>;
  if (unsteady.length === 0)
    return <Empty>All {services.length} service(s) are at steady state.</Empty>;
  return (
    <ul className="plain">
      {unsteady.map((service) => (
        <li key={service.name}>
          <Link to={`/services/${encodeURIComponent(service.name)}`}>{service.name}</Link>{" "}
          {service.runningCount}/{service.desiredCount} running
          {service.deployments.some((d) => d.rolloutState === "in_progress") ? (
            <>
              {" "}
              · <StatusBadge status="deploying" />
            </>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

function RecentEvents({ services }: { services: Service[] }) {
  const events = services
    .flatMap((service) => service.events.map((event) => ({ ...event, service: service.name })))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    .slice(0, 10);
  if (events.length === 0) return <Empty>No events yet.</Empty>;
  return (
    <ul className="events">
      {events.map((event) => (
        <li key={event.id}>
          <span className="muted">{formatAgo(event.createdAt)}</span>{" "}
          <Link to={`/services/${encodeURIComponent(event.service)}`}>{event.service}</Link>:{" "}
          {event.message}
        </li>
      ))}
    </ul>
  );
}
