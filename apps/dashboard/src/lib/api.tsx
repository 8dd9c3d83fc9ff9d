import type { SkiffClient } from "@skiff/shared";
import { createContext, type ReactNode, useContext } from "react";

export interface Api {
  client: SkiffClient;
  /** Ends the session with the refusal shown (a 401 or 403 on a read). */
  onAuthError(error: unknown): void;
}

const ApiContext = createContext<Api | null>(null);

export function ApiProvider({ value, children }: { value: Api; children: ReactNode }) {
  return <ApiContext.Provider value={value}>{children}</ApiContext.Provider>;
}

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (!api) throw new Error("useApi outside ApiProvider");
  return api;
}
