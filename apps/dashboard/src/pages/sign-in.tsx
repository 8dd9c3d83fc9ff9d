import { SkiffClient, type Whoami } from "@skiff/shared";
import { type FormEvent, useState } from "react";
import { ErrorMessage } from "../components/states.js";

/**
 * Asks for a Skiff token and checks it with /v1/whoami before keeping it. `refusal` is why the
 * last session ended (the API's 401/403 message), shown so the user knows what happened.
 */
export function SignIn({
  refusal,
  onSignedIn,
}: {
  refusal: string | null;
  onSignedIn: (token: string, who: Whoami) => void;
}) {
  const [token, setToken] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const who = await new SkiffClient({
        baseUrl: window.location.origin,
        token: token.trim(),
      }).whoami();
      onSignedIn(token.trim(), who);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="sign-in">
      <form onSubmit={submit} className="card">
        <h1>Sign in to Skiff</h1>
        {refusal ? (
          <p className="error" role="alert">
            Signed out: {refusal}
          </p>
        ) : null}
        <label>
          API token
          <input
            name="token"
            type="password"
            autoComplete="off"
            value={token}
            onChange={(event) => setToken(event.target.value)}
            placeholder="skf_…"
            required
          />
        </label>
        <p className="hint">
          The admin token is printed once when the api first starts (or set with SKIFF_ADMIN_TOKEN).
          It is kept in this tab's session storage only.
        </p>
        <ErrorMessage error={error} />
        <button type="submit" disabled={busy || !token.trim()}>
          {busy ? "Checking…" : "Sign in"}
        </button>
      </form>
    </div>
  );
}
