import { type Task, type TaskStatus, taskStatuses } from "@skiff/shared";
import { type FormEvent, useState } from "react";
import { PageHeader } from "../components/layout.js";
import { ErrorMessage, Loaded } from "../components/states.js";
import { TaskTable } from "../components/task-table.js";
import { useApi } from "../lib/api.js";
import { navigate, useLocation } from "../lib/router.js";
import { usePoll } from "../lib/use-poll.js";

const filterNames = ["status", "service", "family", "nodeId"] as const;

/** Tasks with filters kept in the address (so a filtered view can be shared). */
export function Tasks() {
  const { client } = useApi();
  const { query } = useLocation();
  const filters = {
    status: (query.get("status") || undefined) as TaskStatus | undefined,
    service: query.get("service") || undefined,
    family: query.get("family") || undefined,
    nodeId: query.get("nodeId") || undefined,
  };
  const key = JSON.stringify(filters);
  const tasks = usePoll(`tasks:${key}`, (c) => c.listTasks({ ...filters, limit: 100 }), 3000);
  const [draft, setDraft] = useState<Record<string, string>>(() =>
    Object.fromEntries(filterNames.map((name) => [name, query.get(name) ?? ""])),
  );
  const [more, setMore] = useState<{ key: string; items: Task[]; cursor: string | null } | null>(
    null,
  );
  const [moreError, setMoreError] = useState<unknown>(undefined);

  const apply = (event: FormEvent) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const name of filterNames) if (draft[name]?.trim()) params.set(name, draft[name].trim());
    const text = params.toString();
    navigate(`/tasks${text ? `?${text}` : ""}`, { replace: true });
  };

  const loadMore = async (cursor: string) => {
    try {
      const page = await client.listTasks({ ...filters, limit: 100, cursor });
      setMore((previous) => ({
        key,
        items: [...(previous?.key === key ? previous.items : []), ...page.items],
        cursor: page.nextCursor,
      }));
    } catch (error) {
      setMoreError(error);
    }
  };
  const extra = more?.key === key ? more : null;

  return (
    <>
      <PageHeader title="Tasks" />
      <form className="card filters" onSubmit={apply} aria-label="Filters">
        <label>
          Status
          <select
            name="status"
            value={draft.status}
            onChange={(e) => setDraft({ ...draft, status: e.target.value })}
          >
            <option value="">any</option>
            {taskStatuses.map((status) => (
              <option key={status} value={status}>
                {status}
              </option>
            ))}
          </select>
        </label>
        {(["service", "family", "nodeId"] as const).map((name) => (
          <label key={name}>
            {name === "nodeId" ? "Node id" : name[0]?.toUpperCase() + name.slice(1)}
            <input
              name={name}
              value={draft[name]}
              onChange={(e) => setDraft({ ...draft, [name]: e.target.value })}
            />
          </label>
        ))}
        <button type="submit">Filter</button>
      </form>
      <section className="card">
        <Loaded poll={tasks} what="tasks">
          {(page) => {
            const cursor = extra ? extra.cursor : page.nextCursor;
            return (
              <>
                <TaskTable
                  tasks={[...page.items, ...(extra?.items ?? [])]}
                  empty="No tasks match."
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
