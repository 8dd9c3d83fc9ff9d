import type { Secret } from "@skiff/shared";
import { type FormEvent, useState } from "react";
import { ConfirmButton } from "../components/confirm-button.js";
import { DataTable } from "../components/data-table.js";
import { PageHeader } from "../components/layout.js";
import { ErrorMessage, Loaded } from "../components/states.js";
import { formatAgo } from "../lib/format.js";
import { useAction } from "../lib/use-action.js";
import { usePoll } from "../lib/use-poll.js";

/**
 * Secrets for task containers. Values are write-only: typed here, sent once, never shown again
 * (the API answers none). Containers take them through a task definition's secrets.
 */
export function Secrets() {
  const secrets = usePoll("secrets", (client) => client.listSecrets({ limit: 500 }), 10_000);
  const [name, setName] = useState("");
  const [value, setValue] = useState("");
  const [description, setDescription] = useState("");
  const create = useAction(
    (client, body: { name: string; value: string; description?: string }) =>
      client.createSecret(body),
    secrets.reload,
  );
  const remove = useAction(
    (client, secret: string, force: boolean) => client.deleteSecret(secret, { force }),
    secrets.reload,
  );

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const body = { name: name.trim(), value, ...(description ? { description } : {}) };
    if (await create.run(body)) {
      setName("");
      setValue("");
      setDescription("");
    }
  };

  return (
    <>
      <PageHeader title="Secrets" />
      <section className="card">
        <p className="hint">
          Credentials belong here, not in a container's plain environment, which every token that
          can read task definitions sees. A value is stored encrypted and only ever sent to the node
          running a task that names it, as an environment variable.
        </p>
        <Loaded poll={secrets} what="secrets" feature="Secrets">
          {(page) => (
            <DataTable
              items={page.items}
              empty="No secrets yet."
              columns={["secret", "version", "updated", "new value", ""]}
              row={(secret) => (
                <SecretRow
                  key={secret.name}
                  secret={secret}
                  onChanged={secrets.reload}
                  onDelete={(force) => remove.run(secret.name, force)}
                  deleting={remove.busy}
                />
              )}
            />
          )}
        </Loaded>
        <ErrorMessage error={remove.error} />
        {remove.error && isConflict(remove.error) ? (
          <p className="hint">
            Task definition revisions still name it. Force delete removes it anyway: tasks started
            from those revisions then fail to start.
          </p>
        ) : null}
      </section>
      <section className="card">
        <h2>New secret</h2>
        <form className="inline-form" onSubmit={submit} aria-label="New secret">
          <label>
            Name
            <input
              value={name}
              onChange={(event) => setName(event.target.value)}
              placeholder="db-password"
              required
            />
          </label>
          <label>
            Value
            <input
              type="password"
              autoComplete="off"
              value={value}
              onChange={(event) => setValue(event.target.value)}
              required
            />
          </label>
          <label>
            Description
            <input value={description} onChange={(event) => setDescription(event.target.value)} />
          </label>
          <button type="submit" disabled={create.busy}>
            Create secret
          </button>
        </form>
        <ErrorMessage error={create.error} />
      </section>
    </>
  );
}

function isConflict(error: unknown): boolean {
  return error instanceof Error && "status" in error && error.status === 409;
}

/** One secret: its new value is typed, sent, and cleared; the old one is never shown. */
function SecretRow({
  secret,
  onChanged,
  onDelete,
  deleting,
}: {
  secret: Secret;
  onChanged: () => void;
  onDelete: (force: boolean) => void;
  deleting: boolean;
}) {
  const [value, setValue] = useState("");
  const update = useAction(
    (client, next: string) => client.updateSecret(secret.name, { value: next }),
    onChanged,
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (await update.run(value)) setValue("");
  };
  return (
    <tr>
      <td>
        <span className="mono">{secret.name}</span>
        {secret.description ? <div className="muted">{secret.description}</div> : null}
      </td>
      <td>{secret.version}</td>
      <td>{formatAgo(secret.updatedAt)}</td>
      <td>
        <form className="inline-form" onSubmit={submit}>
          <input
            type="password"
            autoComplete="off"
            aria-label={`New value of ${secret.name}`}
            value={value}
            onChange={(event) => setValue(event.target.value)}
            required
          />
          <button type="submit" className="secondary" disabled={update.busy}>
            Set value
          </button>
        </form>
        <ErrorMessage error={update.error} />
      </td>
      <td className="row-actions">
        <ConfirmButton
          label="Delete"
          question={`Delete ${secret.name}?`}
          busy={deleting}
          onConfirm={() => onDelete(false)}
        />
        <ConfirmButton
          label="Force delete"
          question={`Delete ${secret.name} even if task definitions name it?`}
          busy={deleting}
          onConfirm={() => onDelete(true)}
        />
      </td>
    </tr>
  );
}
