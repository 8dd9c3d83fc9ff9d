import { SkiffClient, type Whoami } from "@skiff/shared";
import { useCallback, useEffect, useMemo, useState } from "react";
import { Layout } from "./components/layout.js";
import { Loading } from "./components/states.js";
import { ApiProvider } from "./lib/api.js";
import { errorText, isAuthError } from "./lib/api-errors.js";
import { RouterProvider } from "./lib/router.js";
import { clearToken, readToken, saveToken } from "./lib/session.js";
import { SignIn } from "./pages/sign-in.js";
import { Routes } from "./routes.js";

type Session =
  | { state: "checking"; token: string }
  | { state: "signed-out"; refusal: string | null }
  | { state: "signed-in"; token: string; who: Whoami };

function initialSession(): Session {
  const token = readToken();
  return token ? { state: "checking", token } : { state: "signed-out", refusal: null };
}

export function App() {
  const [session, setSession] = useState<Session>(initialSession);

  const signOut = useCallback((refusal: string | null = null) => {
    clearToken();
    setSession({ state: "signed-out", refusal });
  }, []);

  // A token from an earlier visit in this tab is checked before any page shows.
  useEffect(() => {
    if (session.state !== "checking") return;
    const token = session.token;
    new SkiffClient({ baseUrl: window.location.origin, token })
      .whoami()
      .then((who) => setSession({ state: "signed-in", token, who }))
      .catch((error) => signOut(isAuthError(error) ? errorText(error) : null));
  }, [session, signOut]);

  const token = session.state === "signed-in" ? session.token : null;
  const api = useMemo(
    () =>
      token
        ? {
            client: new SkiffClient({ baseUrl: window.location.origin, token }),
            onAuthError: (error: unknown) => signOut(errorText(error)),
          }
        : null,
    [token, signOut],
  );

  if (session.state === "checking") return <Loading what="your session" />;
  if (session.state === "signed-out" || !api)
    return (
      <SignIn
        refusal={session.state === "signed-out" ? session.refusal : null}
        onSignedIn={(signedIn, who) => {
          saveToken(signedIn);
          setSession({ state: "signed-in", token: signedIn, who });
        }}
      />
    );
  return (
    <ApiProvider value={api}>
      <RouterProvider>
        <Layout
          who={`${session.who.name} (${session.who.scopes.join(", ")})`}
          onSignOut={() => signOut()}
        >
          <Routes />
        </Layout>
      </RouterProvider>
    </ApiProvider>
  );
}
