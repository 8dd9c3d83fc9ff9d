import type { FunctionInfo } from "@skiff/shared";
import { useState } from "react";
import { DataTable } from "../components/data-table.js";
import { PageHeader } from "../components/layout.js";
import { ErrorMessage, Loaded } from "../components/states.js";
import { StatusBadge } from "../components/status-badge.js";
import { useApi } from "../lib/api.js";
import { formatAgo, formatMemory } from "../lib/format.js";
import { Link } from "../lib/router.js";
import { usePoll } from "../lib/use-poll.js";

/** Functions with their runtime, size, timeout and whether they have code yet. */
export function Functions() {
  const { client } = useApi();
  const functions = usePoll("functions", (client) => client.listFunctions({ limit: 100 }), 5000);
  // Pages past the first 100, as the registry's list loads them: on request, not polled.
  const [more, setMore] = useState<{ items: FunctionInfo[]; cursor: string | null } | null>(null);
  const [moreError, setMoreError] = useState<unknown>(undefined);
  const loadMore = async (cursor: string) => {
    try {
      const page = await client.listFunctions({ limit: 100, cursor });
      setMore((previous) => ({
        items: [...(previous?.items ?? []), ...page.items],
        cursor: page.nextCursor,
      }));
    } catch (error) {
      setMoreError(error);
    }
  };
  return (
    <>
      <PageHeader title="Functions">
        <Link to="/functions/new" className="button">
          Create a function
        </Link>
      </PageHeader>
      <section className="card">
        <Loaded poll={functions} what="functions" feature="Functions">
          {(page) => {
            const cursor = more ? more.cursor : page.nextCursor;
            return (
              <>
                <DataTable
                  items={[...page.items, ...(more?.items ?? [])]}
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
                {cursor ? (
                  <button type="button" className="secondary" onClick={() => loadMore(cursor)}>
                    Load more
                  </button>
                ) : null}
                <ErrorMessage error={moreError} />
              </>
            );
          }}
        </Loaded>
      </section>
    </>
  );
}
