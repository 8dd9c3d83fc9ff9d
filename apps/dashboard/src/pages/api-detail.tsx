import type { HttpApiRoute, RouteTarget } from "@skiff/shared";
import { type FormEvent, useState } from "react";
import { ConfirmButton } from "../components/confirm-button.js";
import { CopyBlock } from "../components/copy-block.js";
import { DataTable } from "../components/data-table.js";
import { PageHeader } from "../components/layout.js";
import { ErrorMessage, Loaded } from "../components/states.js";
import { navigate } from "../lib/router.js";
import { useAction } from "../lib/use-action.js";
import { usePoll } from "../lib/use-poll.js";

type TargetKind = "function" | "service" | "url";

function describeTarget(target: HttpApiRoute["target"]): string {
  if ("function" in target) return `function ${target.function}`;
  if ("service" in target) return `service ${target.service}`;
  return `URL ${target.url}`;
}

/** An API: its URL, its routes (each to a function, a service or a URL), and deleting it. */
export function ApiDetail({ name }: { name: string }) {
  const api = usePoll(`api:${name}`, (client) => client.getApi(name), 10_000);
  const routes = usePoll(
    `api-routes:${name}`,
    (client) => client.listApiRoutes(name, { limit: 100 }),
    10_000,
  );
  const [routeKey, setRouteKey] = useState("");
  const [kind, setKind] = useState<TargetKind>("function");
  const [target, setTarget] = useState("");
  const [apiKeyRequired, setApiKeyRequired] = useState(false);
  const addRoute = useAction(
    (client, body: { routeKey: string; target: RouteTarget; apiKeyRequired: boolean }) =>
      client.createApiRoute(name, body),
    routes.reload,
  );
  const removeRoute = useAction(
    (client, routeId: string) => client.deleteApiRoute(name, routeId),
    routes.reload,
  );
  const removeApi = useAction(async (client) => {
    await client.deleteApi(name);
    navigate("/apis");
  });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const value = target.trim();
    const body = {
      routeKey: routeKey.trim(),
      target: (kind === "function"
        ? { function: value }
        : kind === "service"
          ? { service: value }
          : { url: value }) as RouteTarget,
      apiKeyRequired,
    };
    if (await addRoute.run(body)) {
      setRouteKey("");
      setTarget("");
      setApiKeyRequired(false);
    }
  };

  return (
    <>
      <PageHeader title={`API ${name}`}>
        <ConfirmButton
          label="Delete API"
          question={`Delete the API ${name} and its routes?`}
          busy={removeApi.busy}
          onConfirm={() => removeApi.run()}
        />
      </PageHeader>
      <ErrorMessage error={removeApi.error} />
      <section className="card">
        <Loaded poll={api} what="the API">
          {(loaded) => (
            <>
              <p className="hint">
                Id <span className="mono">{loaded.id}</span>
                {loaded.description ? ` · ${loaded.description}` : ""}
              </p>
              <CopyBlock label="The API's URL" text={loaded.apiEndpoint} />
            </>
          )}
        </Loaded>
      </section>
      <section className="card">
        <h2>Routes</h2>
        <Loaded poll={routes} what="routes">
          {(page) => (
            <DataTable
              items={page.items}
              empty="No routes yet: the API answers 404 to everything."
              columns={["route", "target", "API key", ""]}
              row={(route) => (
                <tr key={route.id}>
                  <td className="mono">{route.routeKey}</td>
                  <td>{describeTarget(route.target)}</td>
                  <td>{route.apiKeyRequired ? "required" : "-"}</td>
                  <td className="row-actions">
                    <ConfirmButton
                      label="Delete"
                      question={`Delete the route ${route.routeKey}?`}
                      busy={removeRoute.busy}
                      onConfirm={() => removeRoute.run(route.id)}
                    />
                  </td>
                </tr>
              )}
            />
          )}
        </Loaded>
        <ErrorMessage error={removeRoute.error} />
      </section>
      <section className="card">
        <h2>New route</h2>
        <form className="inline-form" onSubmit={submit} aria-label="New route">
          <label>
            Route
            <input
              name="routeKey"
              value={routeKey}
              onChange={(event) => setRouteKey(event.target.value)}
              placeholder="GET /items/{id}"
              required
            />
          </label>
          <label>
            Target
            <select
              name="targetKind"
              value={kind}
              onChange={(event) => setKind(event.target.value as TargetKind)}
            >
              <option value="function">Function</option>
              <option value="service">Service</option>
              <option value="url">URL</option>
            </select>
          </label>
          <label>
            {kind === "function" ? "Function" : kind === "service" ? "Service" : "URL"}
            <input
              name="target"
              value={target}
              onChange={(event) => setTarget(event.target.value)}
              placeholder={kind === "url" ? "https://example.com/base" : "name"}
              required
            />
          </label>
          <label className="checkbox">
            <input
              type="checkbox"
              name="apiKeyRequired"
              checked={apiKeyRequired}
              onChange={(event) => setApiKeyRequired(event.target.checked)}
            />
            API key required
          </label>
          <button type="submit" disabled={addRoute.busy}>
            Add route
          </button>
        </form>
        <ErrorMessage error={addRoute.error} />
      </section>
    </>
  );
}
