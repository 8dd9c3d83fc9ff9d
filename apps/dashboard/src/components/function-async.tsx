import { formatAgo } from "../lib/format.js";
import { useAction } from "../lib/use-action.js";
import { usePoll } from "../lib/use-poll.js";
import { DataTable } from "./data-table.js";
import { ErrorMessage, Loaded } from "./states.js";
import { StatusBadge } from "./status-badge.js";

/** Event invocations with their status, and the dead letters (with redrive) of one function. */
export function FunctionAsync({ name }: { name: string }) {
  const invocations = usePoll(
    `function-invocations:${name}`,
    (client) => client.listFunctionInvocations(name, { limit: 50 }),
    5000,
  );
  const deadLetters = usePoll(
    `function-dead-letters:${name}`,
    (client) => client.listFunctionDeadLetters(name, { limit: 50 }),
    5000,
  );
  const redrive = useAction(
    (client, id: string) => client.redriveFunctionDeadLetter(name, id),
    () => {
      deadLetters.reload();
      invocations.reload();
    },
  );
  // One above the other: both tables are wide (request ids, errors, events).
  return (
    <>
      <div>
        <h3>Event invocations</h3>
        <Loaded poll={invocations} what="invocations">
          {(page) => (
            <DataTable
              items={page.items}
              empty="No Event invocations yet."
              columns={["request id", "status", "attempts", "queued", "finished", "error"]}
              row={(item) => (
                <tr key={item.requestId}>
                  <td className="mono">{item.requestId}</td>
                  <td>
                    <StatusBadge status={item.status} />
                  </td>
                  <td>{item.attempts}</td>
                  <td title={item.enqueuedAt}>{formatAgo(item.enqueuedAt)}</td>
                  <td title={item.finishedAt ?? ""}>
                    {item.finishedAt ? formatAgo(item.finishedAt) : "–"}
                  </td>
                  <td>{item.error ?? "–"}</td>
                </tr>
              )}
            />
          )}
        </Loaded>
      </div>
      <div>
        <h3>Dead letters</h3>
        <ErrorMessage error={redrive.error} />
        <Loaded poll={deadLetters} what="dead letters">
          {(page) => (
            <DataTable
              items={page.items}
              empty="No dead letters."
              columns={["request id", "error", "attempts", "failed", "event", ""]}
              row={(letter) => (
                <tr key={letter.id}>
                  <td className="mono">{letter.requestId}</td>
                  <td>
                    {letter.errorType ? `${letter.errorType}: ` : ""}
                    {letter.error}
                  </td>
                  <td>{letter.attempts}</td>
                  <td title={letter.failedAt}>{formatAgo(letter.failedAt)}</td>
                  <td className="mono" title={letter.payload}>
                    {letter.payload.length > 80
                      ? `${letter.payload.slice(0, 80)}…`
                      : letter.payload}
                  </td>
                  <td>
                    <button
                      type="button"
                      className="secondary"
                      disabled={redrive.busy}
                      onClick={() => redrive.run(letter.id)}
                    >
                      Redrive
                    </button>
                  </td>
                </tr>
              )}
            />
          )}
        </Loaded>
      </div>
    </>
  );
}
