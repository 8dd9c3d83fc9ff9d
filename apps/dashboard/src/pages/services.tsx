import { DataTable } from "../components/data-table.js";
import { PageHeader } from "../components/layout.js";
import { Loaded } from "../components/states.js";
import { StatusBadge } from "../components/status-badge.js";
import { Link } from "../lib/router.js";
import { isSteady } from "../lib/service-state.js";
import { usePoll } from "../lib/use-poll.js";

/** Services with running against desired. */
export function Services() {
  const services = usePoll("services", (client) => client.listServices(), 3000);
  return (
    <>
      <PageHeader title="Services">
        <Link to="/services/new" className="button">
          Create a service
        </Link>
      </PageHeader>
      <section className="card">
        <Loaded poll={services} what="services">
          {(items) => (
            <DataTable
              items={items}
              empty="No services yet."
              columns={[
                "service",
                "running / desired",
                "pending",
                "task definition",
                "launch",
                "state",
              ]}
              row={(service) => (
                <tr key={service.name}>
                  <td>
                    <Link to={`/services/${encodeURIComponent(service.name)}`}>{service.name}</Link>
                  </td>
                  <td data-label="running">
                    {service.runningCount} / {service.desiredCount}
                  </td>
                  <td>{service.pendingCount}</td>
                  <td>{service.taskDefinition}</td>
                  <td>
                    {service.launchType}
                    {service.launchType === "pool" ? ` (${service.pool})` : ""}
                  </td>
                  <td>
                    <StatusBadge
                      status={
                        service.status === "draining"
                          ? "deleting"
                          : isSteady(service)
                            ? "steady"
                            : "changing"
                      }
                    />
                  </td>
                </tr>
              )}
            />
          )}
        </Loaded>
      </section>
    </>
  );
}
