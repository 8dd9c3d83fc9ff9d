import { type FormEvent, useState } from "react";
import { DataTable } from "../components/data-table.js";
import { PageHeader } from "../components/layout.js";
import { ErrorMessage, Loaded } from "../components/states.js";
import { formatAgo } from "../lib/format.js";
import { Link, navigate } from "../lib/router.js";
import { useAction } from "../lib/use-action.js";
import { usePoll } from "../lib/use-poll.js";

/** HTTP APIs on the gateway: each answers at its own URL and sends routes to a target. */
export function Apis() {
  const apis = usePoll("apis", (client) => client.listApis({ limit: 100 }), 10_000);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const create = useAction(async (client, body: { name: string; description?: string }) => {
    const api = await client.createApi(body);
    navigate(`/apis/${encodeURIComponent(api.name)}`);
  });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await create.run({ name: name.trim(), ...(description ? { description } : {}) });
  };
  return (
    <>
      <PageHeader title="APIs" />
      <section className="card">
        <Loaded poll={apis} what="APIs" feature="APIs">
          {(page) => (
            <DataTable
              items={page.items}
              empty="No APIs yet."
              columns={["API", "id", "URL", "created"]}
              row={(api) => (
                <tr key={api.id}>
                  <td>
                    <Link to={`/apis/${encodeURIComponent(api.name)}`}>{api.name}</Link>
                    {api.description ? <div className="muted">{api.description}</div> : null}
                  </td>
                  <td className="mono">{api.id}</td>
                  <td className="mono">{api.apiEndpoint}</td>
                  <td title={api.createdAt}>{formatAgo(api.createdAt)}</td>
                </tr>
              )}
            />
          )}
        </Loaded>
      </section>
      <section className="card">
        <h2>New API</h2>
        <form className="inline-form" onSubmit={submit} aria-label="New API">
          <label>
            Name
            <input
              name="name"
              value={name}
              onChange={(event) => setName(event.target.value)}
              placeholder="shop"
              required
            />
          </label>
          <label>
            Description
            <input value={description} onChange={(event) => setDescription(event.target.value)} />
          </label>
          <button type="submit" disabled={create.busy}>
            Create API
          </button>
        </form>
        <ErrorMessage error={create.error} />
      </section>
    </>
  );
}
