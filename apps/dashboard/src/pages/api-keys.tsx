import { type FormEvent, useState } from "react";
import { ConfirmButton } from "../components/confirm-button.js";
import { CopyBlock } from "../components/copy-block.js";
import { DataTable } from "../components/data-table.js";
import { PageHeader } from "../components/layout.js";
import { ErrorMessage, Loaded } from "../components/states.js";
import { formatAgo } from "../lib/format.js";
import { Link } from "../lib/router.js";
import { useAction } from "../lib/use-action.js";
import { usePoll } from "../lib/use-poll.js";

/**
 * API keys for routes that require one (sent as `x-api-key`). A key's value is shown once, right
 * after it is created: it is stored hashed and no answer holds it again. A key's name opens its
 * page, with its requests per day.
 */
export function ApiKeys() {
  const keys = usePoll("api-keys", (client) => client.listApiKeys({ limit: 100 }), 10_000);
  const [name, setName] = useState("");
  const [created, setCreated] = useState<{ name: string; value: string } | undefined>();
  const create = useAction(async (client, keyName: string) => {
    const key = await client.createApiKey({ name: keyName });
    setCreated({ name: key.name, value: key.value });
  }, keys.reload);
  const toggle = useAction(
    (client, id: string, enabled: boolean) => client.updateApiKey(id, { enabled }),
    keys.reload,
  );
  const remove = useAction((client, id: string) => client.deleteApiKey(id), keys.reload);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setCreated(undefined);
    if (await create.run(name.trim())) setName("");
  };

  return (
    <>
      <PageHeader title="API keys" />
      <section className="card">
        <Loaded poll={keys} what="API keys" feature="API keys">
          {(page) => (
            <DataTable
              items={page.items}
              empty="No API keys yet."
              columns={["key", "id", "starts with", "state", "created", ""]}
              row={(key) => (
                <tr key={key.id}>
                  <td>
                    <Link to={`/api-keys/${encodeURIComponent(key.id)}`}>{key.name}</Link>
                  </td>
                  <td className="mono">{key.id}</td>
                  <td className="mono">{key.prefix}…</td>
                  <td>{key.enabled ? "enabled" : "disabled"}</td>
                  <td title={key.createdAt}>{formatAgo(key.createdAt)}</td>
                  <td className="row-actions">
                    <button
                      type="button"
                      className="secondary"
                      disabled={toggle.busy}
                      onClick={() => toggle.run(key.id, !key.enabled)}
                    >
                      {key.enabled ? "Disable" : "Enable"}
                    </button>
                    <ConfirmButton
                      label="Delete"
                      question={`Delete the key ${key.name}?`}
                      busy={remove.busy}
                      onConfirm={() => remove.run(key.id)}
                    />
                  </td>
                </tr>
              )}
            />
          )}
        </Loaded>
        <ErrorMessage error={toggle.error} />
        <ErrorMessage error={remove.error} />
      </section>
      <section className="card">
        <h2>New API key</h2>
        <form className="inline-form" onSubmit={submit} aria-label="New API key">
          <label>
            Name
            <input
              name="name"
              value={name}
              onChange={(event) => setName(event.target.value)}
              placeholder="partner-a"
              required
            />
          </label>
          <button type="submit" disabled={create.busy}>
            Create API key
          </button>
        </form>
        <ErrorMessage error={create.error} />
        {created ? (
          <>
            <p className="hint" role="status">
              The value of {created.name}, shown this once: copy it now.
            </p>
            <CopyBlock label="The new key's value" text={created.value} />
          </>
        ) : null}
      </section>
    </>
  );
}
