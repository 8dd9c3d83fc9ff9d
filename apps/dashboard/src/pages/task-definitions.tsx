import { DataTable } from "../components/data-table.js";
import { PageHeader } from "../components/layout.js";
import { Loaded } from "../components/states.js";
import { Link } from "../lib/router.js";
import { usePoll } from "../lib/use-poll.js";

/** Families and their latest revision. */
export function TaskDefinitions() {
  const families = usePoll("families", (client) => client.listTaskDefinitionFamilies(), 10_000);
  return (
    <>
      <PageHeader title="Task definitions">
        <Link to="/task-definitions/new" className="button">
          Register a task definition
        </Link>
      </PageHeader>
      <section className="card">
        <Loaded poll={families} what="task definitions">
          {(items) => (
            <DataTable
              items={items}
              empty="No task definitions yet. Register one to run tasks and services."
              columns={["family", "latest revision"]}
              row={(item) => (
                <tr key={item.family}>
                  <td>
                    <Link to={`/task-definitions/${encodeURIComponent(item.family)}`}>
                      {item.family}
                    </Link>
                  </td>
                  <td>{item.latestRevision}</td>
                </tr>
              )}
            />
          )}
        </Loaded>
      </section>
    </>
  );
}
