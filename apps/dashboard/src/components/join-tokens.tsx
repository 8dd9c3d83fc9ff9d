import type { JoinToken, JoinTokenInfo } from "@skiff/shared";
import { type FormEvent, useState } from "react";
import { formatAgo } from "../lib/format.js";
import {
  defaultTtlSeconds,
  maxUsesOf,
  ttlChoices,
  type UsesChoice,
} from "../lib/join-token-form.js";
import { useAction } from "../lib/use-action.js";
import { usePoll } from "../lib/use-poll.js";
import { ConfirmButton } from "./confirm-button.js";
import { DataTable } from "./data-table.js";
import { JoinCommands } from "./join-commands.js";
import { ErrorMessage, Loaded } from "./states.js";
import { StatusBadge } from "./status-badge.js";

/**
 * A pool's join tokens: a new one (how many nodes, how long), its agent commands once, and the
 * list by prefix only (the API never answers a secret twice), with revoke.
 */
export function JoinTokens({ pool }: { pool: string }) {
  const tokens = usePoll(`join-tokens:${pool}`, (client) => client.listJoinTokens(pool), 5000);
  const [uses, setUses] = useState<UsesChoice>("one");
  const [count, setCount] = useState("2");
  const [ttl, setTtl] = useState(defaultTtlSeconds);
  const [made, setMade] = useState<JoinToken | null>(null);
  const create = useAction(async (client, maxUses: number | null, ttlSeconds: number) => {
    setMade(null);
    setMade(await client.createJoinToken(pool, ttlSeconds, maxUses));
  }, tokens.reload);
  const revoke = useAction((client, id: string) => client.revokeJoinToken(pool, id), tokens.reload);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void create.run(maxUsesOf(uses, count), ttl);
  };

  return (
    <section className="card">
      <h2>Join tokens</h2>
      <form className="inline-form" onSubmit={submit} aria-label="New join token">
        <label>
          Nodes it admits
          <select
            name="uses"
            value={uses}
            onChange={(event) => setUses(event.target.value as UsesChoice)}
          >
            <option value="one">1 node</option>
            <option value="some">A number of nodes</option>
            <option value="unlimited">Any number (autoscaling group)</option>
          </select>
        </label>
        {uses === "some" ? (
          <label>
            How many
            <input
              name="maxUses"
              type="number"
              min={1}
              max={100_000}
              step={1}
              value={count}
              onChange={(event) => setCount(event.target.value)}
              required
            />
          </label>
        ) : null}
        <label>
          Valid for
          <select name="ttl" value={ttl} onChange={(event) => setTtl(Number(event.target.value))}>
            {ttlChoices.map((choice) => (
              <option key={choice.seconds} value={choice.seconds}>
                {choice.label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={create.busy}>
          Create join token
        </button>
      </form>
      {uses === "unlimited" ? (
        <p className="hint">
          For an autoscaling group's launch template: every machine that starts with it joins, until
          it expires or is revoked. Revoke it when the group is gone.
        </p>
      ) : null}
      <ErrorMessage error={create.error} />
      {made ? <JoinCommands joinToken={made} /> : null}

      <Loaded poll={tokens} what="join tokens" feature="Join token listing">
        {(items) => (
          <DataTable
            items={items}
            empty="No join tokens for this pool yet."
            columns={["token", "uses", "state", "expires", "created", ""]}
            row={(token) => (
              <JoinTokenRow
                key={token.id}
                token={token}
                revoking={revoke.busy}
                onRevoke={() => revoke.run(token.id)}
              />
            )}
          />
        )}
      </Loaded>
      <ErrorMessage error={revoke.error} />
    </section>
  );
}

function JoinTokenRow({
  token,
  revoking,
  onRevoke,
}: {
  token: JoinTokenInfo;
  revoking: boolean;
  onRevoke: () => void;
}) {
  // Tokens made before prefixes were kept are told apart by id.
  const name = token.prefix ? `${token.prefix}…` : token.id;
  return (
    <tr data-token-id={token.id}>
      <td className="mono">{name}</td>
      <td>
        {token.uses} / {token.maxUses ?? "unlimited"}
      </td>
      <td>
        <StatusBadge status={token.state} />
      </td>
      <td title={new Date(token.expiresAt).toLocaleString()}>{formatAgo(token.expiresAt)}</td>
      <td title={new Date(token.createdAt).toLocaleString()}>{formatAgo(token.createdAt)}</td>
      <td className="row-actions">
        {token.state === "active" ? (
          <ConfirmButton
            label="Revoke"
            question={`Revoke ${name}? No new node joins with it; nodes that joined stay.`}
            busy={revoking}
            onConfirm={onRevoke}
          />
        ) : null}
      </td>
    </tr>
  );
}
