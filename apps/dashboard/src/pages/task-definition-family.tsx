import { DataTable } from "../components/data-table.js";
import { PageHeader } from "../components/layout.js";
import { Loaded } from "../components/states.js";
import { formatCpu, formatMemory } from "../lib/format.js";
import { Link, navigate, useLocation } from "../lib/router.js";
import { usePoll } from "../lib/use-poll.js";

/** A family's revisions; one shown whole (latest unless ?revision=). */
export function TaskDefinitionFamily({ family }: { family: string }) {
  const { query } = useLocation();
  const wanted = query.get("revision");
  const ref = wanted ? `${family}:${wanted}` : family;
  const definition = usePoll(`td:${ref}`, (client) => client.getTaskDefinition(ref));
  const latest = usePoll(`td:${family}`, (client) => client.getTaskDefinition(family));
  const familyPath = `/task-definitions/${encodeURIComponent(family)}`;

  return (
    <>
      <PageHeader title={`Task definition ${family}`}>
        <Link to={`/task-definitions/new?from=${encodeURIComponent(ref)}`} className="button">
          New revision
        </Link>
      </PageHeader>
      <Loaded poll={latest} what="revisions">
        {(newest) => (
          <nav className="revisions" aria-label="Revisions">
            Revisions:
            {Array.from({ length: newest.revision }, (_, index) => newest.revision - index).map(
              (revision) => (
                <button
                  key={revision}
                  type="button"
                  className={
                    String(revision) === (wanted ?? String(newest.revision)) ? "" : "secondary"
                  }
                  onClick={() => navigate(`${familyPath}?revision=${revision}`, { replace: true })}
                >
                  {revision}
                </button>
              ),
            )}
          </nav>
        )}
      </Loaded>
      <Loaded poll={definition} what="the task definition">
        {(data) => (
          <section className="card">
            <h2>
              {data.family}:{data.revision}
            </h2>
            <p>
              {formatCpu(data.cpu)}, {formatMemory(data.memory)}, runs on{" "}
              {data.compatibilities.join(" and ")} · registered{" "}
              {new Date(data.createdAt).toLocaleString()}
            </p>
            <DataTable
              items={data.containers}
              columns={["container", "image", "command", "ports", "essential"]}
              row={(container) => (
                <tr key={container.name}>
                  <td>{container.name}</td>
                  <td className="mono">{container.image}</td>
                  <td className="mono">{container.command?.join(" ") ?? "(image default)"}</td>
                  <td>
                    {container.portMappings?.map((port) => port.containerPort).join(", ") || "–"}
                  </td>
                  <td>{container.essential ? "yes" : "no"}</td>
                </tr>
              )}
            />
            <details>
              <summary>JSON</summary>
              <pre className="json">{JSON.stringify(data, null, 2)}</pre>
            </details>
          </section>
        )}
      </Loaded>
    </>
  );
}
