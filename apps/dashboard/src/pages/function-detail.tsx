import { functionCpuUnits } from "@skiff/shared";
import { useState } from "react";
import { ConfirmButton } from "../components/confirm-button.js";
import { FunctionAsync } from "../components/function-async.js";
import { FunctionConfig } from "../components/function-config.js";
import { FunctionMonitoring } from "../components/function-monitoring.js";
import { FunctionTest } from "../components/function-test.js";
import { PageHeader } from "../components/layout.js";
import { ErrorMessage, Loaded } from "../components/states.js";
import { StatusBadge } from "../components/status-badge.js";
import { LogFollow } from "../components/task-logs.js";
import { formatAgo, formatBytes, formatCpu, formatMemory } from "../lib/format.js";
import { navigate } from "../lib/router.js";
import { useAction } from "../lib/use-action.js";
import { usePoll } from "../lib/use-poll.js";

const tabs = ["Test", "Configuration", "Monitoring", "Logs", "Async"] as const;
type Tab = (typeof tabs)[number];

/** One function: test invoke, configuration and code, charts, live logs, Event invocations. */
export function FunctionDetail({ name }: { name: string }) {
  const fn = usePoll(`function:${name}`, (client) => client.getFunction(name), 5000);
  const [tab, setTab] = useState<Tab>("Test");
  const remove = useAction(
    (client) => client.deleteFunction(name),
    () => navigate("/functions"),
  );

  return (
    <Loaded poll={fn} what="the function">
      {(data) => (
        <>
          <PageHeader title={`Function ${data.name}`}>
            <ConfirmButton
              label="Delete"
              question={`Delete ${data.name}? Its instances stop.`}
              busy={remove.busy}
              onConfirm={() => remove.run()}
            />
          </PageHeader>
          <ErrorMessage error={remove.error} />
          <section className="card">
            <dl className="facts">
              <dt>state</dt>
              <dd>
                <StatusBadge status={data.state.toLowerCase()} />
                {data.state === "Pending" ? (
                  <span className="muted"> no code yet: upload a zip under Configuration</span>
                ) : null}
              </dd>
              <dt>arn</dt>
              <dd className="mono">{data.arn}</dd>
              <dt>runtime</dt>
              <dd>
                {data.runtime}
                {data.handler ? ` · handler ${data.handler}` : ""}
              </dd>
              <dt>size</dt>
              <dd>
                {formatMemory(data.memory)}, {formatCpu(functionCpuUnits(data.memory))}, timeout{" "}
                {data.timeout} s
              </dd>
              <dt>code</dt>
              <dd className="mono">
                {data.code?.image ??
                  (data.code?.sha256
                    ? `${data.code.sha256} (${formatBytes(data.code.size ?? 0)})`
                    : "–")}
              </dd>
              <dt>revision</dt>
              <dd data-testid="function-revision">
                {data.revision} <span className="muted">changed {formatAgo(data.updatedAt)}</span>
              </dd>
              {data.description ? (
                <>
                  <dt>description</dt>
                  <dd>{data.description}</dd>
                </>
              ) : null}
            </dl>
          </section>
          <section className="card">
            <div className="tabs" role="tablist">
              {tabs.map((item) => (
                <button
                  key={item}
                  type="button"
                  role="tab"
                  aria-selected={tab === item}
                  onClick={() => setTab(item)}
                >
                  {item}
                </button>
              ))}
            </div>
            <div role="tabpanel" aria-label={tab}>
              {tab === "Test" ? <FunctionTest name={data.name} /> : null}
              {tab === "Configuration" ? <FunctionConfig fn={data} onSaved={fn.reload} /> : null}
              {tab === "Monitoring" ? <FunctionMonitoring name={data.name} /> : null}
              {tab === "Logs" ? (
                <LogFollow
                  source={`function:${data.name}`}
                  follow={(client, options) => client.followFunctionLogs(data.name, options)}
                  endedText="the log has ended (function deleted)"
                />
              ) : null}
              {tab === "Async" ? <FunctionAsync name={data.name} /> : null}
            </div>
          </section>
        </>
      )}
    </Loaded>
  );
}
