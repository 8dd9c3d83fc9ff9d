import type { ReactNode } from "react";
import { errorText, isMissingRoute } from "../lib/api-errors.js";
import type { Poll } from "../lib/use-poll.js";

export function Loading({ what }: { what: string }) {
  return (
    <p className="state" aria-busy="true">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state empty">{children}</div>;
}

/** A failed call, with the API's own message. */
export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {errorText(error)}
    </p>
  );
}

/** A feature whose routes this server does not have (it answered "no route"). */
export function NotAvailable({ feature }: { feature: string }) {
  return (
    <div className="state empty" data-state="not-available">
      {feature} is not available on this server: its API answered 404 (no such route).
    </div>
  );
}

/**
 * The four states of a loaded thing: loading, failed without data, not on this server, loaded
 * (with a failed refresh shown above the last good data).
 */
export function Loaded<T>({
  poll,
  what,
  feature,
  children,
}: {
  poll: Poll<T>;
  what: string;
  /** Set for endpoints a server may not have: a 404 "no route" then says so. */
  feature?: string;
  children: (data: T) => ReactNode;
}) {
  if (poll.data === undefined) {
    if (poll.loading) return <Loading what={what} />;
    if (feature && isMissingRoute(poll.error)) return <NotAvailable feature={feature} />;
    return <ErrorMessage error={poll.error} />;
  }
  return (
    <>
      {poll.error ? <ErrorMessage error={poll.error} /> : null}
      {children(poll.data)}
    </>
  );
}
