import { DataTable } from "../components/data-table.js";
import { PageHeader } from "../components/layout.js";
import { Loaded } from "../components/states.js";
import { StatusBadge } from "../components/status-badge.js";
import { formatAgo, formatMemory } from "../lib/format.js";
import { Link } from "../lib/router.js";
import { usePoll } from "../lib/use-poll.js";

/** Functions with their runtime, size, timeout and whether they have code yet. */
export function Functions() {
  const functions = usePoll("functions", (client) => client.listFunctions({ limit: 100 }), 5000);
  return (
    <>
      <PageHeader title="Functions">
        <Link to="/functions/new" className="button">
          Create a function
        </Link>
      </PageHeader>
      <section className="card">
        <Loaded poll={functions} what="functions" feature="Functions">
          {(page) => (
            <DataTable
              items={page.items}
              empty="No functions yet."
              columns={["function", "runtime", "memory", "timeout", "last modified", "state"]}
              row={(fn) => (
                <tr key={fn.name}>
                  <td>
                    <Link to={`/functions/${encodeURIComponent(fn.name)}`}>{fn.name}</Link>
                  </td>
                  <td>{fn.runtime}</td>
                  <td>{formatMemory(fn.memory)}</td>
                  <td>{fn.timeout} s</td>
                  <td title={fn.updatedAt}>{formatAgo(fn.updatedAt)}</td>
                  <td>
                    <StatusBadge status={fn.state.toLowerCase()} />
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
