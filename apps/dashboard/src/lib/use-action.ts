import type { SkiffClient } from "@skiff/shared";
import { useState } from "react";
import { useApi } from "./api.js";

export interface Action<A extends unknown[]> {
  run(...args: A): Promise<boolean>;
  busy: boolean;
  error: unknown;
  clearError(): void;
}

/**
 * A user's change (drain, scale, delete): runs once, keeps its error to show beside the button.
 * A 403 here stays on the page (the token may read but not change); a 401 ends the session.
 */
export function useAction<A extends unknown[]>(
  act: (client: SkiffClient, ...args: A) => Promise<unknown>,
  onDone?: () => void,
): Action<A> {
  const { client, onAuthError } = useApi();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const run = async (...args: A) => {
    setBusy(true);
    setError(undefined);
    try {
      await act(client, ...args);
      onDone?.();
      return true;
    } catch (caught) {
      if (caught instanceof Error && "status" in caught && caught.status === 401)
        onAuthError(caught);
      setError(caught);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error, clearError: () => setError(undefined) };
}
