import type { LogLine, SkiffClient } from "@skiff/shared";
import { useEffect, useRef, useState } from "react";
import { useApi } from "../lib/api.js";
import { isAuthError } from "../lib/api-errors.js";
import { ErrorMessage } from "./states.js";

/** How many lines the view keeps; older ones scroll away. */
const keepLines = 2000;

/**
 * A task's log, followed live over the API's event stream (`?follow=true`) until the task stops;
 * paused, it shows what it has. Lines arrive in batches per animation frame, not one render each.
 */
export function TaskLogs({ taskId }: { taskId: string }) {
  return (
    <LogFollow
      source={`task:${taskId}`}
      follow={(client, options) => client.followTaskLogs(taskId, options)}
      endedText="the log has ended (task stopped)"
    />
  );
}

/** A log followed live from `follow` (a task's, a function's); `source` names it: new, restart. */
export function LogFollow({
  source,
  follow: open,
  endedText,
}: {
  source: string;
  follow: (
    client: SkiffClient,
    options: { tail: number; signal: AbortSignal },
  ) => AsyncGenerator<LogLine>;
  endedText: string;
}) {
  const { client, onAuthError } = useApi();
  const openRef = useRef(open);
  openRef.current = open;
  const [lines, setLines] = useState<LogLine[]>([]);
  const [follow, setFollow] = useState(true);
  const [state, setState] = useState<"following" | "ended" | "paused">("following");
  const [error, setError] = useState<unknown>(undefined);
  const box = useRef<HTMLPreElement>(null);

  // biome-ignore lint/correctness/useExhaustiveDependencies: source names what openRef follows
  useEffect(() => {
    if (!follow) {
      setState("paused");
      return;
    }
    const abort = new AbortController();
    let pending: LogLine[] = [];
    let frame = 0;
    const flush = () => {
      frame = 0;
      const batch = pending;
      pending = [];
      setLines((previous) => [...previous, ...batch].slice(-keepLines));
    };
    setLines([]);
    setError(undefined);
    setState("following");
    (async () => {
      try {
        for await (const line of openRef.current(client, { tail: 500, signal: abort.signal })) {
          pending.push(line);
          if (!frame) frame = requestAnimationFrame(flush);
        }
        if (!abort.signal.aborted) setState("ended");
      } catch (caught) {
        if (abort.signal.aborted) return;
        if (isAuthError(caught)) onAuthError(caught);
        setError(caught);
        setState("ended");
      }
    })();
    return () => {
      abort.abort();
      cancelAnimationFrame(frame);
    };
  }, [client, onAuthError, source, follow]);

  // Stay at the bottom while following, as `tail -f` does.
  useEffect(() => {
    const element = box.current;
    if (element && follow && lines.length > 0) element.scrollTop = element.scrollHeight;
  }, [lines, follow]);

  return (
    <div className="logs">
      <div className="logs-bar">
        <label className="check">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} />{" "}
          follow
        </label>
        <span className="muted" aria-live="polite">
          {state === "following" ? "following live" : state === "ended" ? endedText : "paused"} ·{" "}
          {lines.length} line(s)
        </span>
      </div>
      <ErrorMessage error={error} />
      <pre className="log-lines" ref={box} role="log" aria-label="Log lines">
        {lines.length === 0
          ? "No lines yet."
          : lines.map((line, index) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: lines only ever append
              <div key={index} className={line.stream === "stderr" ? "stderr" : undefined}>
                <span className="muted">
                  {line.time.slice(11, 19)} {line.container}
                </span>{" "}
                {line.text}
              </div>
            ))}
      </pre>
    </div>
  );
}
