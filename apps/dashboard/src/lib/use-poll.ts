import type { SkiffClient } from "@skiff/shared";
import { useCallback, useEffect, useRef, useState } from "react";
import { useApi } from "./api.js";
import { isAuthError } from "./api-errors.js";
import { nextPollDelay } from "./backoff.js";

export interface Poll<T> {
  data: T | undefined;
  /** The last failure; the last good data stays shown beside it. */
  error: unknown;
  loading: boolean;
  reload(): void;
}

/**
 * Loads with the session's client and, with `intervalMs`, again and again: at the interval while
 * calls succeed, backing off while they fail. `key` names what is loaded: a new key starts over.
 */
export function usePoll<T>(
  key: string,
  load: (client: SkiffClient) => Promise<T>,
  intervalMs?: number,
): Poll<T> {
  const { client, onAuthError } = useApi();
  const loadRef = useRef(load);
  loadRef.current = load;
  const [state, setState] = useState<{ key: string; data?: T; error?: unknown; loading: boolean }>({
    key,
    loading: true,
  });
  const [generation, setGeneration] = useState(0);

  // biome-ignore lint/correctness/useExhaustiveDependencies: generation is how reload() re-runs it
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    const run = async () => {
      try {
        const data = await loadRef.current(client);
        if (stopped) return;
        failures = 0;
        setState({ key, data, loading: false });
      } catch (error) {
        if (stopped) return;
        if (isAuthError(error)) {
          onAuthError(error);
          return;
        }
        failures++;
        setState((previous) => ({
          key,
          data: previous.key === key ? previous.data : undefined,
          error,
          loading: false,
        }));
      }
      if (intervalMs && !stopped) timer = setTimeout(run, nextPollDelay(intervalMs, failures));
    };
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [client, onAuthError, key, intervalMs, generation]);

  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  const current = state.key === key ? state : { key, loading: true };
  return { data: current.data, error: current.error, loading: current.loading, reload };
}
