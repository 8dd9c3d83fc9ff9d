import type { ReactNode } from "react";
import { matchPath } from "./lib/match-path.js";
import { Link, useLocation } from "./lib/router.js";
import { ApiDetail } from "./pages/api-detail.js";
import { ApiKeyDetail } from "./pages/api-key-detail.js";
import { ApiKeys } from "./pages/api-keys.js";
import { Apis } from "./pages/apis.js";
import { FunctionDetail } from "./pages/function-detail.js";
import { FunctionNew } from "./pages/function-new.js";
import { Functions } from "./pages/functions.js";
import { NodeDetail } from "./pages/node-detail.js";
import { Overview } from "./pages/overview.js";
import { PoolDetail } from "./pages/pool-detail.js";
import { Pools } from "./pages/pools.js";
import { Registry } from "./pages/registry.js";
import { RepositoryDetail } from "./pages/repository-detail.js";
import { Secrets } from "./pages/secrets.js";
import { ServiceDetail } from "./pages/service-detail.js";
import { ServiceNew } from "./pages/service-new.js";
import { Services } from "./pages/services.js";
import { TaskDefinitionFamily } from "./pages/task-definition-family.js";
import { TaskDefinitionNew } from "./pages/task-definition-new.js";
import { TaskDefinitions } from "./pages/task-definitions.js";
import { TaskDetail } from "./pages/task-detail.js";
import { Tasks } from "./pages/tasks.js";
import { UsagePlans } from "./pages/usage-plans.js";

type Params = Record<string, string>;

// Most specific first: /services/new before /services/:name.
const routes: [string, (params: Params) => ReactNode][] = [
  ["/", () => <Overview />],
  ["/pools", () => <Pools />],
  ["/pools/:name", (p) => <PoolDetail name={p.name ?? ""} />],
  ["/nodes/:id", (p) => <NodeDetail id={p.id ?? ""} />],
  ["/task-definitions", () => <TaskDefinitions />],
  ["/task-definitions/new", () => <TaskDefinitionNew />],
  ["/task-definitions/:family", (p) => <TaskDefinitionFamily family={p.family ?? ""} />],
  ["/services", () => <Services />],
  ["/services/new", () => <ServiceNew />],
  ["/services/:name", (p) => <ServiceDetail name={p.name ?? ""} />],
  ["/functions", () => <Functions />],
  ["/functions/new", () => <FunctionNew />],
  ["/functions/:name", (p) => <FunctionDetail name={p.name ?? ""} />],
  ["/tasks", () => <Tasks />],
  ["/tasks/:id", (p) => <TaskDetail id={p.id ?? ""} />],
  ["/registry", () => <Registry />],
  ["/registry/:name", (p) => <RepositoryDetail name={p.name ?? ""} />],
  ["/secrets", () => <Secrets />],
  ["/apis", () => <Apis />],
  ["/apis/:name", (p) => <ApiDetail name={p.name ?? ""} />],
  ["/api-keys", () => <ApiKeys />],
  ["/api-keys/:id", (p) => <ApiKeyDetail id={p.id ?? ""} />],
  ["/usage-plans", () => <UsagePlans />],
];

export function Routes() {
  const { path } = useLocation();
  for (const [pattern, render] of routes) {
    const params = matchPath(pattern, path);
    // key: a page for another service or task starts with fresh state.
    if (params) return <div key={path}>{render(params)}</div>;
  }
  return (
    <div className="state empty">
      <h1>Nothing here</h1>
      <p>
        No page at {path}. <Link to="/">Back to the overview</Link>
      </p>
    </div>
  );
}
