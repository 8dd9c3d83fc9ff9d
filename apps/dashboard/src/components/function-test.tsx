import type { FunctionInvocation } from "@skiff/shared";
import { type FormEvent, useState } from "react";
import { parseFunctionError, parseReport, prettyJson } from "../lib/function-report.js";
import { useAction } from "../lib/use-action.js";
import { ErrorMessage } from "./states.js";

/**
 * Invokes the function with a JSON payload as a caller would (RequestResponse, log tail asked
 * for) and shows what came back: the result or the error with its type, the duration from the
 * REPORT line, and the decoded log tail.
 */
export function FunctionTest({ name }: { name: string }) {
  const [payload, setPayload] = useState('{\n  "key": "value"\n}');
  const [problem, setProblem] = useState("");
  const [result, setResult] = useState<FunctionInvocation | null>(null);
  const invoke = useAction(async (client, body: string) => {
    setResult(await client.invokeFunction(name, body, { logTail: true }));
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    // Checked here as Lambda would refuse it (InvalidRequestContentException), with the reason.
    try {
      JSON.parse(payload);
    } catch (caught) {
      setProblem(`The payload is not JSON: ${caught instanceof Error ? caught.message : caught}`);
      return;
    }
    setProblem("");
    setResult(null);
    void invoke.run(payload);
  };

  return (
    <form className="fields" onSubmit={submit}>
      <label className="field">
        Event (JSON)
        <textarea
          name="payload"
          className="json-editor"
          rows={8}
          spellCheck={false}
          value={payload}
          onChange={(e) => setPayload(e.target.value)}
        />
      </label>
      {problem ? (
        <p className="error" role="alert">
          {problem}
        </p>
      ) : null}
      <div>
        <button type="submit" disabled={invoke.busy}>
          {invoke.busy ? "Invoking…" : "Invoke"}
        </button>
      </div>
      <ErrorMessage error={invoke.error} />
      {result ? <InvocationResult result={result} /> : null}
    </form>
  );
}

function InvocationResult({ result }: { result: FunctionInvocation }) {
  const report = result.logTail ? parseReport(result.logTail, result.requestId) : null;
  const failure = result.functionError ? parseFunctionError(result.payload) : null;
  return (
    <div className="invocation-result" data-testid="invocation-result" aria-live="polite">
      {result.refused ? (
        <p className="error" role="alert">
          {result.refused.type} ({result.status}): {result.refused.message}
        </p>
      ) : result.functionError ? (
        <p className="error" role="alert">
          {failure?.errorType ?? result.functionError}:{" "}
          {failure?.errorMessage ?? "the function failed"}
        </p>
      ) : (
        <p>
          <span className="badge good">succeeded</span>
        </p>
      )}
      <dl className="facts">
        <dt>request id</dt>
        <dd className="mono">{result.requestId ?? "–"}</dd>
        <dt>duration</dt>
        <dd data-testid="invocation-duration">
          {report
            ? `${report.durationMs} ms (billed ${report.billedDurationMs ?? "–"} ms)`
            : `${result.elapsedMs} ms round trip`}
          {report?.initDurationMs != null ? `, cold start: init ${report.initDurationMs} ms` : ""}
          {report?.maxMemoryUsedMb != null
            ? `, memory ${report.maxMemoryUsedMb} of ${report.memorySizeMb} MB`
            : ""}
        </dd>
      </dl>
      {result.payload !== null ? (
        <>
          <h3>{result.functionError ? "Error document" : "Response"}</h3>
          <pre className="log-lines" data-testid="invocation-payload">
            {prettyJson(result.payload)}
          </pre>
        </>
      ) : null}
      {result.logTail !== null ? (
        <>
          <h3>Log tail</h3>
          <pre className="log-lines" data-testid="invocation-log-tail">
            {result.logTail}
          </pre>
        </>
      ) : null}
    </div>
  );
}
